# 永不落幕的招商专区 — `make run` serves the portal, `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
PORT   ?= 5000

.PHONY: run test lint bench translations clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile --statistics -d translations 2>/dev/null || $(VENV)/bin/pybabel compile -d translations

run: $(VENV)/.installed translations
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) bootstrap
	@echo "serving on http://127.0.0.1:$(PORT)/"
	$(VENV)/bin/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 --access-logfile - wsgi:app

test: $(VENV)/.test-installed translations
	$(PY) -m pytest --cov --cov-report=term-missing:skip-covered

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check portal search seed tests bench wsgi.py

bench: $(VENV)/.installed
	@for b in bench/*/run.py; do echo "== $$b"; $(PY) "$$b" || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache
