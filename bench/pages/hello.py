"""The baseline of the pages benchmark: the least a Flask app can do per request, served by the
same gunicorn settings as the portal, so each page's requests/s reads as a share of it.

    gunicorn -w 2 -k gthread --threads 4 bench.pages.hello:app   (from the project root)
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
