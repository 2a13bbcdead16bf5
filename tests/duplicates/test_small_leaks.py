"""Small leaks closed: a foreign sweep answers as a missing one; the overdue report lists only
chains the reader may open; writes with bad credentials get 401; token issue and revocation
carry their actor in the audit trail."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from accounts.models import ApiToken
from duplicates import sweeps
from tests.transfers.chain import OPEN_DAY, apply, open_season, submit  # noqa: F401


def test_resume_answers_404_alike_for_a_foreign_and_a_missing_sweep(world, client, login):
    sweep = sweeps.sweep_start(user=world["province"].admin, province_code="44", partitions=1, dispatch=False)
    login(world["other_province"].admin)
    foreign = client.post(f"/api/v1/duplicate-sweeps/{sweep.pk}/resume")
    missing = client.post(f"/api/v1/duplicate-sweeps/{sweep.pk + 999}/resume")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


@pytest.mark.usefixtures("open_season")
def test_the_overdue_report_lists_only_chains_that_reached_the_reader(world, login):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        transfer = apply(world, today=OPEN_DAY)
        submit(world, transfer)
        from transfers import services

        services.transfer_approve(user=world["county_b"].approver, transfer_id=transfer.pk)  # now at origin school a1
    with time_machine.travel(dt.datetime(2026, 4, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        page = login(world["county_a"].approver).get("/overdue/")
        assert page.status_code == 200
        assert world.pupils["a1"].name not in page.content.decode()  # not yet at county_a: not on its report
        assert login(world["county_a"].approver).get(f"/transfers/{transfer.pk}/").status_code == 404


def test_api_writes_with_a_bad_or_no_token_get_401_not_a_csrf_403(world):
    client = Client(enforce_csrf_checks=True)
    for headers in ({"HTTP_AUTHORIZATION": "Bearer k12_wrong"}, {}):
        response = client.post("/api/v1/promotions-g", json.dumps({}), content_type="application/json", **headers)
        assert response.status_code == 401, (headers, response.content)
        assert response.json()["code"] == "unauthenticated"
    # a logged-in browser session without its CSRF token is still refused
    client.force_login(world["province"].admin)
    response = client.post("/api/v1/promotions-g", json.dumps({}), content_type="application/json")
    assert response.status_code == 403


def test_token_issue_and_revocation_are_audited_with_the_actor(world):
    admin = world["province"].admin
    user = world["a1"].operator
    out = StringIO()
    call_command("issue_token", user.username, "--by", admin.username, stdout=out, stderr=StringIO())
    token = ApiToken.objects.get(user=user)
    issued = token.pgh_event_model.objects.filter(pgh_obj=token, pgh_label="insert").get()
    assert issued.pgh_context.metadata["user"] == admin.pk
    assert issued.pgh_context.metadata["command"] == "issue_token"
    call_command("issue_token", "--revoke", token.prefix, "--by", admin.username, stdout=StringIO())
    revoked = token.pgh_event_model.objects.filter(pgh_obj=token, pgh_label="update").get()
    assert revoked.pgh_context.metadata["username"] == admin.username
