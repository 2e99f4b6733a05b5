"""The stateful test app is judged by the spec's own interpreter: correct as written, caught per fault.

Hand-scripted sequences (two accounts, two streams, bodies drawn from `generators.valid_requests`)
are sent to the app over HTTP on loopback; every exchange is fed to `spec.Sequences.observe` over a
complete `Store` (the app starts empty), every walked listing to `Sequences.check_pages`, and every
answer to `spec.ContractJudge`. The correct app gives no finding; each fault flag gives the relation
`STATE_FAULTS` names, with only the companions `STATE_FAULT_COMPANIONS` lists.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from generators import valid_requests
from spec import (
    Basis,
    ContractJudge,
    Exchange,
    Expect,
    Expectation,
    Finding,
    ReceivedAnswer,
    SentRequest,
    Sequences,
    Store,
    load_spec,
)
from tests.contract_tests.apps import ACCOUNT_ID, APP_ACCOUNT_ID, STREAM_ID, serving, token
from tests.contract_tests.stateful_app import (
    FAULTS,
    STATE_FAULT_COMPANIONS,
    STATE_FAULTS,
    CaseStore,
    create_app,
)

pytestmark = pytest.mark.http

CONTRACT = load_spec()
SEQUENCES = Sequences(CONTRACT)
JUDGE = ContractJudge(CONTRACT)
OTHER_ACCOUNT = "7a1b2c3d4e5f60718293a4b5"
OTHER_STREAM = "st-084d3c5e-376a-559f-9987-a012bb2b0002"
RESPONSE_SCHEMA_CONFORMANCE = "response_schema_conformance"
CALLER = "u-test"  # the `sub` of apps.token()
# Request bodies per operation, built once.
BODIES = {op: valid_requests(operation=op) for op in CONTRACT.operations}
PATH_IDS = {c.update: c.path_id for c in CONTRACT.sequences.collections if c.update}
# What an update must not be sent by the scenario's drawn bodies: the fields its merge relation never
# merges (read-only), so a faulty app that merges one is caught only where the scenario sends it.
NEVER_MERGED = {
    op: {p.lstrip("/") for r in SEQUENCES.applying("merged", op) for p in r.except_}
    for op in ("updateCase", "updateTask")
}
# Relations a fault may add to its own and its companions, by how the interpreter records an update:
# one that records a read-only field sent as the update answered it (the forged `refId`) does not
# find the later listing of that field again under the merge relation.
MAY_ALSO = {"read-only-changed": {"relation:case-update-merged"}}
# A caller who knows an update's id is not its account's and stream's expects the 404 of decision unknown-ids.
FOREIGN_ID = Expectation(
    Expect.INVALID,
    rule="unknown-ids",
    description="an id of another stream or none",
    basis=Basis.DECISION,
    decisions=("unknown-ids",),
    statuses=frozenset({404}),
)


@dataclass
class Session:
    """Sends calls to the app, feeds each exchange to the spec's interpreter and judge, keeps the findings."""

    http: httpx.Client
    model: Store = field(default_factory=Store)
    relations: list[Finding] = field(default_factory=list)
    single: list[Finding] = field(default_factory=list)
    # Whether the judge's schema checks count. An update merges each top-level field whole
    # (decision `update-merges`), and the update request admits partial `priority`/`status` objects
    # and any `conversationType` that the answer schemas refuse: after a drawn update, schemas are
    # the spec's own ambiguity, not the app's.
    schemas: bool = True

    def call(
        self,
        operation_id: str,
        body: Any,
        *,
        account: str | None = ACCOUNT_ID,
        stream: str = STREAM_ID,
        object_id: str | None = None,
        expectation: Expectation | None = None,
    ) -> tuple[int, Any]:
        operation = CONTRACT.operation(operation_id)
        params = {"streamId": stream}
        if object_id is not None:
            params[PATH_IDS[operation_id]] = object_id
        headers = {"auth": token()}
        if account is not None:
            headers["accountId"] = account
        response = self.http.post(operation.path(**params), json=body, headers=headers)
        answer = response.json()
        exchange = Exchange(operation_id, account, stream, body, response.status_code, answer, params, CALLER)
        self.relations += SEQUENCES.observe(self.model, exchange)
        judged = JUDGE.answer(
            operation,
            SentRequest(params, headers, body),
            ReceivedAnswer(response.status_code, dict(response.headers), response.content),
            expectation or Expectation.valid(),
        )
        self.single += [f for f in judged.findings if self.schemas or f.check != RESPONSE_SCHEMA_CONFORMANCE]
        return response.status_code, answer

    def walk(self, operation_id: str, body: dict[str, Any], **scope: Any) -> list[Any]:
        """Every page of a listing, first to last (at most 10); the pages judged together."""
        pages = []
        for number in range(1, 11):
            status, page = self.call(operation_id, {**body, "page": number}, **scope)
            assert status == 200, page
            pages.append(page)
            if not page["hasMore"]:
                break
        self.relations += SEQUENCES.check_pages(operation_id, pages)
        return [item for page in pages for item in page["results"]]

    def checks(self) -> set[str]:
        return {f.check for f in self.relations} | {
            f.check for f in self.single if not f.check.startswith("relation:")
        }


def _update_body(data: st.DataObject, operation_id: str, **sent: Any) -> dict[str, Any]:
    drawn = data.draw(BODIES[operation_id], label=operation_id)
    body = {k: v for k, v in drawn.items() if k not in NEVER_MERGED[operation_id]}
    return {**body, **sent}


def scenario(session: Session, data: st.DataObject, *, drawn_listings: int = 0) -> None:
    """Create in two accounts and streams, list, page, filter, update, then ask for foreign ids."""
    # Two drawn bodies per create, used in turn (more draws overrun Hypothesis's buffer).
    case_bodies = [data.draw(BODIES["createCase"], label="createCase") for _ in range(2)]
    task_bodies = [data.draw(BODIES["createTask"], label="createTask") for _ in range(2)]
    cases = []
    for index, name in enumerate(("Refund for order 1", "Broken screen", "Refund on invoice")):
        status, case = session.call("createCase", {**case_bodies[index % 2], "name": name})
        assert status == 200, case
        cases.append(case)
    _, other_case = session.call("createCase", case_bodies[0], account=OTHER_ACCOUNT)
    _, stream_case = session.call("createCase", case_bodies[1], stream=OTHER_STREAM)
    _, own_case = session.call("createCase", case_bodies[0], account=None)
    assert own_case["accountId"] == APP_ACCOUNT_ID  # a create without the header: the app's account

    tasks = []
    for index, case in enumerate([cases[0]] * 3 + [cases[1]]):
        body = {**task_bodies[index % 2], "caseId": case["_id"], "caseRefId": case["refId"]}
        status, task = session.call("createTask", {**body, "name": f"Call customer {index}"})
        assert status == 200, task
        tasks.append(task)
    _, other_task = session.call(
        "createTask", {**task_bodies[0], "caseId": other_case["_id"]}, account=OTHER_ACCOUNT
    )
    _, stream_task = session.call(
        "createTask", {**task_bodies[1], "caseId": stream_case["_id"]}, stream=OTHER_STREAM
    )
    session.call("createTask", task_bodies[0], account=None)

    session.walk("getTasks", {"limit": 2})
    session.walk("getTasks", {}, account=OTHER_ACCOUNT)
    session.walk("getTasks", {}, stream=OTHER_STREAM)
    session.call("getTasks", {"searchText": "CUSTOMER 2"})
    session.walk("getCases", {"limit": 2})
    session.walk("getCases", {}, account=OTHER_ACCOUNT)
    session.call("getCases", {"searchText": "refund"})
    for body in (
        {"sortBy": "name"},
        # A skip that is a multiple of the limit: with another, the page the window ends on is not the
        # last page by number (decision `pagination`'s hasMore and page rules disagree there).
        {"sortBy": {"name": "desc"}, "skip": 2, "limit": 2},
        {"priority": ["MEDIUM"], "status": ["open"], "unresolved": True, "unassigned": True},
        {"mytask": True},
        {"startDate": tasks[1]["createdAt"], "endDate": tasks[2]["createdAt"]},
        {"limit": 500, "sortBy": "no-such-key"},
    ):
        session.call("getTasks", body)
        session.call("getCases", body)
    # Listings with drawn filters, sort orders and pages (the faulty apps' findings are pinned without).
    for _ in range(drawn_listings):
        for operation_id in ("getTasks", "getCases"):
            session.call(operation_id, data.draw(BODIES[operation_id], label=operation_id))

    # Updates: merged, read-only fields kept, updatedAt forward, lname following the name.
    session.schemas = False
    status, _ = session.call(
        "updateTask", _update_body(data, "updateTask", name="Renamed Task"), object_id=tasks[1]["_id"]
    )
    assert status == 200
    sent = _update_body(data, "updateCase", name="Refund, second try", refId="CS999999")
    status, _ = session.call("updateCase", sent, object_id=cases[0]["_id"])
    assert status == 200
    session.walk("getTasks", {"limit": 2})
    session.walk("getCases", {"limit": 2})

    # Unknown and foreign ids (decision unknown-ids).
    for operation_id, object_id, scope in (
        ("updateTask", f"ti-{str(uuid.uuid4())[1:]}", {}),
        ("updateTask", other_task["_id"], {}),
        ("updateTask", stream_task["_id"], {}),
        ("updateTask", tasks[0]["_id"], {"stream": OTHER_STREAM}),
        ("updateCase", tasks[0]["_id"], {}),
    ):
        session.call(operation_id, {"name": "x"}, object_id=object_id, expectation=FOREIGN_ID, **scope)


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, tuple[str, CaseStore]]]:
    """One served app per fault (and "" for the correct one), each with its store."""
    from contextlib import ExitStack

    served = {}
    with ExitStack() as stack:
        for fault in ("", *sorted(FAULTS)):
            store = CaseStore()
            app = create_app(faults=frozenset({fault}) if fault else frozenset(), store=store)
            served[fault] = (stack.enter_context(serving(app)), store)
        yield served


def run(url: str, store: CaseStore, data: st.DataObject, *, drawn_listings: int = 0) -> Session:
    store.reset()
    with httpx.Client(base_url=url, timeout=10) as http:
        session = Session(http)
        scenario(session, data, drawn_listings=drawn_listings)
    return session


# Every example replays a whole scenario: no shrinking (a failure prints its findings).
SETTINGS = settings(
    max_examples=3,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@seed(14)
@SETTINGS
@given(data=st.data())
def test_the_correct_app_keeps_every_relation(
    apps: dict[str, tuple[str, CaseStore]], data: st.DataObject
) -> None:
    session = run(*apps[""], data, drawn_listings=8)
    assert [str(f) for f in session.relations] == []
    assert [str(f) for f in session.single] == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_caught_by_its_relation(apps: dict[str, tuple[str, CaseStore]], fault: str) -> None:
    @seed(14)
    @settings(SETTINGS, max_examples=1)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        session = run(*apps[fault], data)
        expected = {STATE_FAULTS[fault]} | STATE_FAULT_COMPANIONS.get(fault, frozenset())
        found = session.checks()
        shown = [str(f) for f in session.relations + session.single]
        assert expected <= found <= expected | MAY_ALSO.get(fault, set()), shown

    check()


def test_each_fault_names_a_relation_of_the_spec_or_a_check_of_the_judge() -> None:
    relations = {"relation:" + r.id for r in CONTRACT.sequences.relations}
    primaries = list(STATE_FAULTS.values())
    assert len(set(primaries)) == len(primaries)  # each fault told apart by its own relation
    for fault, check in STATE_FAULTS.items():
        assert check in relations or not check.startswith("relation:"), fault
        assert STATE_FAULT_COMPANIONS.get(fault, frozenset()) <= relations, fault
    assert set(STATE_FAULT_COMPANIONS) <= FAULTS


def test_an_unknown_fault_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown state faults"):
        create_app(faults=frozenset({"no-such-fault"}))
