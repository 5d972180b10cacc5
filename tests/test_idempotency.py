"""Idempotency keys bound to the request: only the identical request (same kind, client,
values and files) gets the first ticket back; any other use of the key answers 422 and
stores nothing, even when two requests with one key arrive at the same moment."""

import re
import threading

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Attachment, AuditEvent, Complaint, Demand, TicketEvent
from tests.test_attachments import pdf_file
from tests.test_intake import COMPLAINT, api_demand, demand

API = {"demand": "/api/v1/demands", "complaint": "/api/v1/complaints"}
FORMS = {"demand": "/zh/demands/new", "complaint": "/zh/complaints/new"}
CONFLICT = "这个 Idempotency-Key 已用于另一个请求"
FORM_CONFLICT = "这份表单已经提交过，这次填写的内容与上次不同，因此没有保存。"


def payload(kind: str, **changes) -> dict:
    if kind == "demand":
        return api_demand(**changes)
    return COMPLAINT | {"consent": True} | changes


def post(client, kind: str, body: dict, key: str = "key-1", address: str = "192.0.2.10"):
    return client.post(API[kind], json=body, headers={"Idempotency-Key": key},
                       environ_base={"REMOTE_ADDR": address})


def counts(app) -> dict:
    with app.app_context():
        try:
            return {model.__name__: db.session.scalar(db.select(db.func.count()).select_from(
                model)) for model in (Demand, Complaint, TicketEvent, Attachment, AuditEvent)}
        finally:
            db.session.remove()


@pytest.mark.parametrize("kind", ["demand", "complaint"])
def test_the_same_request_gets_the_first_answer(client, app, kind):
    first = post(client, kind, payload(kind))
    again = post(client, kind, payload(kind))
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json() | {"replayed": True}
    with app.app_context():
        record = db.session.scalars(db.select(Demand if kind == "demand" else Complaint)).one()
        assert re.fullmatch(r"[0-9a-f]{64}", record.idempotency_fingerprint)


@pytest.mark.parametrize("kind", ["demand", "complaint"])
def test_another_client_with_the_same_key_gets_nothing(client, app, kind):
    """The attack from issue 8: a second client reuses a key it saw (or guessed) with its
    own body; it must not get the first client's ticket or code, and must not be stored."""
    first = post(client, kind, payload(kind), key="shared-key", address="192.0.2.10")
    assert first.status_code == 201
    before = counts(app)
    other = payload(kind, company_name="另一家公司", contact_name="赵六")
    attack = post(client, kind, other, key="shared-key", address="198.51.100.7")
    assert attack.status_code == 422
    body = attack.get_json()
    assert body["error"]["code"] == "invalid" and body["error"]["fields"] == {}
    assert CONFLICT in body["error"]["message"]
    text = attack.get_data(as_text=True)
    assert first.get_json()["ticket"] not in text
    assert first.get_json()["access_code"] not in text
    assert counts(app) == before
    # the identical body from another address is another client too
    same_body = post(client, kind, payload(kind), key="shared-key", address="198.51.100.7")
    assert same_body.status_code == 422
    assert first.get_json()["ticket"] not in same_body.get_data(as_text=True)
    assert counts(app) == before


@pytest.mark.parametrize("change", [
    {"company_name": "大同示例新能源股份有限公司"},
    {"amount_wan": 20001},
    {"land_mu": None},
    {"timeline": "12m"},
], ids=["text", "number", "blank", "choice"])
def test_a_different_body_with_the_same_key_is_refused(client, app, change):
    assert post(client, "demand", payload("demand")).status_code == 201
    before = counts(app)
    response = post(client, "demand", payload("demand", **change))
    assert response.status_code == 422 and CONFLICT in response.get_json()["error"]["message"]
    assert counts(app) == before
    with app.app_context():
        assert db.session.scalars(db.select(Demand)).one().company_name == "大同示例新能源有限公司"


def test_equivalent_spellings_are_the_same_request(client, app):
    """The fingerprint is of the validated values, so 20000 and 20000.0, or extra spaces a
    form strips, are the same request."""
    assert post(client, "demand", payload("demand")).status_code == 201
    again = post(client, "demand", payload("demand", amount_wan=20000.0,
                                           company_name=" 大同示例新能源有限公司 "))
    assert again.status_code == 200 and again.get_json()["replayed"] is True


def test_a_key_is_bound_to_the_kind(client, app):
    assert post(client, "demand", payload("demand"), key="k-9").status_code == 201
    assert post(client, "complaint", payload("complaint"), key="k-9").status_code == 201
    assert post(client, "complaint", payload("complaint"), key="k-9").status_code == 200


def test_attachments_are_part_of_the_request(client, app):
    def send(data: bytes, name: str = "合同.pdf"):
        from io import BytesIO

        form = {k: str(v) for k, v in COMPLAINT.items()}
        return client.post(API["complaint"], data=form | {
            "attachments": [(BytesIO(data), name)]}, content_type="multipart/form-data",
            headers={"Idempotency-Key": "with-file"})

    assert send(pdf_file()).status_code == 201
    assert send(pdf_file()).status_code == 200
    before = counts(app)
    assert send(pdf_file() + b"\n% another revision").status_code == 422
    assert send(pdf_file(), name="另一份.pdf").status_code == 422
    assert counts(app) == before


def test_a_record_without_a_fingerprint_is_not_handed_out(client, app):
    """Keys stored before fingerprints existed cannot be compared: refused, not replayed."""
    first = post(client, "demand", payload("demand"), key="old-key")
    with app.app_context():
        db.session.scalars(db.select(Demand)).one().idempotency_fingerprint = ""
        db.session.commit()
    again = post(client, "demand", payload("demand"), key="old-key")
    assert again.status_code == 422
    assert first.get_json()["ticket"] not in again.get_data(as_text=True)


def test_the_html_form_sent_again_with_other_answers(client, app):
    """Back, edit, submit: the page says nothing was saved and offers a fresh key, so the
    visitor can still send the new answers on purpose."""
    form = demand(idempotency_key="page-key-1")
    assert client.post(FORMS["demand"], data=form).status_code == 201
    assert client.post(FORMS["demand"], data=form).status_code == 200
    before = counts(app)
    page = client.post(FORMS["demand"], data=form | {"company_name": "改过名字的公司"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert FORM_CONFLICT in html and "<title>错误：" in html
    assert 'value="改过名字的公司"' in html  # the visitor's answers are kept
    fresh = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"|'
                      r'value="([^"]+)"[^>]*name="idempotency_key"', html)
    key = fresh.group(1) or fresh.group(2)
    assert key != "page-key-1"
    assert counts(app) == before
    resubmitted = client.post(FORMS["demand"], data=form | {"company_name": "改过名字的公司",
                                                             "idempotency_key": key})
    assert resubmitted.status_code == 201
    assert counts(app)["Demand"] == 2


def test_the_html_form_from_another_client(client, app):
    form = demand(idempotency_key="page-key-2")
    first = client.post(FORMS["demand"], data=form, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    ticket = re.search(r'class="ticket">(D-\w+)<', first.get_data(as_text=True)).group(1)
    other = client.post(FORMS["demand"], data=form, environ_base={"REMOTE_ADDR": "192.0.2.2"})
    assert other.status_code == 422 and ticket not in other.get_data(as_text=True)


class _Race:
    """Holds the first request's flush (its row inserted, not committed) until a second
    request has checked the key and begins its own insert, so both have found the key
    unused: the unique constraint alone decides, as when two requests arrive at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.inserting = 0
        self.second_inserting = threading.Event()
        self.held = threading.Event()

    @staticmethod
    def _inserts(session) -> bool:
        return any(isinstance(o, Demand | Complaint) for o in session.new)

    def before_flush(self, session, _context, _instances):
        if self._inserts(session):
            with self.lock:
                self.inserting += 1
                if self.inserting == 2:
                    self.second_inserting.set()

    def after_flush(self, session, _context):
        if self._inserts(session) and not self.held.is_set():
            self.held.set()
            assert self.second_inserting.wait(10), "the second request never inserted"

    def __enter__(self):
        event.listen(Session, "before_flush", self.before_flush)
        event.listen(Session, "after_flush", self.after_flush)
        return self

    def __exit__(self, *exc):
        event.remove(Session, "before_flush", self.before_flush)
        event.remove(Session, "after_flush", self.after_flush)


def race(app, kind: str, bodies: list[tuple[dict, str]]) -> list:
    answers = [None] * len(bodies)

    def run(i, body, address):
        answers[i] = post(app.test_client(), kind, body, key="racing-key", address=address)

    with _Race() as hold:
        threads = [threading.Thread(target=run, args=(i, body, address))
                   for i, (body, address) in enumerate(bodies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert hold.second_inserting.is_set(), "the requests did not overlap"
    return answers


@pytest.mark.parametrize("kind", ["demand", "complaint"])
def test_two_identical_requests_at_once_make_one_ticket(app, kind):
    answers = race(app, kind, [(payload(kind), "192.0.2.10")] * 2)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 201], [a.get_data(as_text=True)[:200] for a in answers]
    first, second = sorted(answers, key=lambda a: a.status_code, reverse=True)
    assert second.get_json() == first.get_json() | {"replayed": True}
    assert counts(app)[kind.capitalize()] == 1


@pytest.mark.parametrize("kind", ["demand", "complaint"])
def test_two_different_requests_at_once_store_one(app, kind):
    mine = payload(kind)
    theirs = payload(kind, company_name="抢先一步的公司", contact_name="钱七")
    answers = race(app, kind, [(mine, "192.0.2.10"), (theirs, "198.51.100.7")])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 422], [a.get_data(as_text=True)[:200] for a in answers]
    winner = next(a for a in answers if a.status_code == 201).get_json()
    loser = next(a for a in answers if a.status_code == 422)
    assert winner["ticket"] not in loser.get_data(as_text=True)
    assert winner["access_code"] not in loser.get_data(as_text=True)
    c = counts(app)
    assert c[kind.capitalize()] == 1 and c["TicketEvent"] == 1
