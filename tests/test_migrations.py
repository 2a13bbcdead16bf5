"""A database of the schema before the apps were split migrates forward with its data and audit.

The test database is taken back to the migrations the registry had then (registry 0003,
provinces 0002, schools 0004, transfers 0002, changes 0001; the new apps unapplied), filled
through the historical models with a bit of everything that moved, and migrated forward
again. Rows and audit events must all be there, generic relations must still resolve,
moved models must be audited once per write (the triggers reinstalled, the old ones gone),
and the transfer log must be the engine's log.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.conftest import ensure_reference_data
from tests.factories import resident_id

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BEFORE = [
    ("registry", "0003_track_api_tokens"),
    ("provinces", "0002_casemember_cleanpair_duplicatecase_cleanpairevent_and_more"),
    ("schools", "0004_roster_export_job"),
    ("transfers", "0002_lookup_by_parent_id"),
    ("changes", "0001_initial"),
]
NEW_APPS = ("accounts", "workflow", "duplicates", "photos", "rosters")

TABLES = [
    "registry_membership", "registry_apitoken", "registry_pupil", "registry_guardian", "registry_historyentry",
    "registry_openbusiness", "registry_workitem", "transfers_transfer", "changes_changerequest",
    "provinces_duplicatecase", "provinces_casemember", "provinces_pupilmatchkey", "schools_photoimport",
    "schools_rosterimport", "schools_rosterexport",
]
EVENT_TABLES = [
    "registry_membershipevent", "registry_apitokenevent", "registry_pupilevent", "registry_guardianevent",
    "transfers_transferevent", "changes_changerequestevent", "provinces_duplicatecaseevent",
    "schools_photoimportevent", "schools_rosterimportevent",
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    return executor.migrate(targets).apps


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        return cursor.fetchone()[0]


def _pupil_checksum() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT national_number, name, id_number, school_id, grade, status FROM registry_pupil ORDER BY id")
        return hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()


def _old_world(apps) -> dict:
    """A bit of every moved model, written through the models as they were."""
    User = apps.get_model("auth", "User")
    School = apps.get_model("schools", "School")
    SchoolClass = apps.get_model("schools", "SchoolClass")
    Membership = apps.get_model("registry", "Membership")
    ApiToken = apps.get_model("registry", "ApiToken")
    Pupil = apps.get_model("registry", "Pupil")
    Guardian = apps.get_model("registry", "Guardian")
    HistoryEntry = apps.get_model("registry", "HistoryEntry")
    OpenBusiness = apps.get_model("registry", "OpenBusiness")
    WorkItem = apps.get_model("registry", "WorkItem")
    Transfer = apps.get_model("transfers", "Transfer")
    TransferStep = apps.get_model("transfers", "TransferStep")
    ChangeRequest = apps.get_model("changes", "ChangeRequest")
    ChainEvent = apps.get_model("changes", "ChainEvent")
    DuplicateCase = apps.get_model("provinces", "DuplicateCase")
    CaseMember = apps.get_model("provinces", "CaseMember")
    PupilMatchKey = apps.get_model("provinces", "PupilMatchKey")
    PhotoImport = apps.get_model("schools", "PhotoImport")
    RosterImport = apps.get_model("schools", "RosterImport")
    RosterExport = apps.get_model("schools", "RosterExport")
    ContentType = apps.get_model("contenttypes", "ContentType")

    origin = School.objects.create(code="4401069901", name="迁移测试小学", county_id="440106", stage="primary")
    dest = School.objects.create(code="4401059901", name="迁移测试二小", county_id="440105", stage="primary")
    klass = SchoolClass.objects.create(school=origin, grade=3, number=1)
    operator = User.objects.create(username="migration.operator")
    approver = User.objects.create(username="migration.approver")
    Membership.objects.create(user=operator, role="operator", school=dest)
    Membership.objects.create(user=approver, role="approver", division_id="440105")
    ApiToken.objects.create(user=operator, prefix="abcdefgh", digest="0" * 64)
    pupils = []
    for n, name in enumerate(("迁移甲", "迁移乙", "迁移丙"), start=1):
        born = dt.date(2016, 3, n)
        pupil = Pupil.objects.create(
            national_number=f"L440106{born:%Y%m%d}{n:04d}", name=name, sex="1", birth_date=born, id_type="1",
            id_number=resident_id(born, "1", seq=n), school=origin, school_class=klass, grade=3,
            county_code="440106", enrolled_on=dt.date(2022, 9, 1),
        )
        Guardian.objects.create(pupil=pupil, name=f"{name}父", relation="51", id_number=resident_id(dt.date(1985, 1, n)))
        HistoryEntry.objects.create(pupil=pupil, kind="registered", summary="建立学籍")
        PupilMatchKey.objects.create(pupil=pupil, province_code="44", birth_year=2016, sound_keys=[], id_keys=[])
        pupils.append(pupil)
    transfer = Transfer.objects.create(
        pupil=pupils[0], origin_school=origin, dest_school=dest, origin_county_code="440106",
        dest_county_code="440105", origin_grade=3, dest_grade=3, dest_class_number=1,
        transfer_date=dt.date(2026, 3, 10), reason="随迁", state="dest_county", steps=["dest_county"],
        applied_by=operator, submitted_at=dt.datetime(2026, 3, 10, tzinfo=dt.UTC),
    )
    for action, source, target in (("apply", "", "draft"), ("submit", "draft", "dest_county")):
        TransferStep.objects.create(transfer=transfer, action=action, from_state=source, to_state=target,
                                    actor=operator, actor_name="迁移", unit_code=dest.code, unit_name=dest.name,
                                    role="operator", reason="随迁")
    transfer_type = ContentType.objects.get_or_create(app_label="transfers", model="transfer")[0]
    OpenBusiness.objects.create(pupil=pupils[0], kind="transfer", content_type=transfer_type, object_id=transfer.pk)
    WorkItem.objects.create(division_id="440105", scope_code="440105", role="approver", kind="transfer",
                            title="转学", url="/", content_type=transfer_type, object_id=transfer.pk)
    request = ChangeRequest.objects.create(
        pupil=pupils[1], kind="key_change", payload={"name": "迁移丁"}, state="approved", school=origin,
        county_code="440106", initiator=approver, initiator_level="county",
    )
    request_type = ContentType.objects.get_or_create(app_label="changes", model="changerequest")[0]
    ChainEvent.objects.create(content_type=request_type, object_id=request.pk, action="open", to_state="draft",
                              actor=approver, actor_name="迁移", note="更正", county_code="440106", school=origin)
    case = DuplicateCase.objects.create(province_id="44", pupil_low=pupils[1], pupil_high=pupils[2], score=0.8,
                                        source="sweep", change_request=request)
    for pupil in pupils[1:]:
        CaseMember.objects.create(case=case, pupil=pupil, county_code="440106")
    PhotoImport.objects.create(school=origin, created_by=operator, archive="photo_imports/x.zip")
    RosterImport.objects.create(created_by=operator, created_by_name="迁移", scope_code="440106",
                                unit_code=origin.code, file="rosters/x")
    RosterExport.objects.create(actor=operator, actor_name="迁移", unit_code=origin.code, scope_code="440106")
    return {"transfer": transfer.pk, "case": case.pk, "request": request.pk, "operator": operator.pk}


@pytest.fixture
def latest():
    """The leaf migrations; whatever happens in the test, the database ends up there again."""
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    yield leaves
    _migrate(leaves)


def test_a_database_of_the_old_schema_migrates_forward_with_data_and_audit(latest):
    ensure_reference_data()  # an earlier transactional test may have flushed the divisions
    old = _old_world(_migrate(BEFORE + [(app, None) for app in NEW_APPS]))
    rows = {table: _count(table) for table in TABLES}
    events = {table: _count(table) for table in EVENT_TABLES}
    log_rows = _count("changes_chainevent") + _count("transfers_transferstep")
    checksum = _pupil_checksum()

    apps = _migrate(latest)

    rows["registry_workitem"] += 1  # the open case reaches its county's 待办 (duplicates 0009)
    assert {table: _count(table) for table in TABLES} == rows
    after = {table: _count(table) for table in EVENT_TABLES}
    # The data migration that moves the case's waiting onto the case is itself audited (the
    # one giving existing tokens their expiry and access runs with the token's triggers off).
    assert after == {**events, "provinces_duplicatecaseevent": events["provinces_duplicatecaseevent"] + 1}
    assert _pupil_checksum() == checksum
    assert _count("changes_chainevent") == log_rows  # the transfer steps are chain events now

    from accounts.models import Membership
    from duplicates.models import DuplicateCase
    from transfers.models import Transfer
    from workflow.models import OpenBusiness, WorkItem

    transfer = Transfer.objects.get(pk=old["transfer"])
    assert [e.action for e in transfer.log.order_by("id")] == ["apply", "submit"]
    assert WorkItem.objects.get(object_id=transfer.pk, kind="transfer").subject == transfer
    assert OpenBusiness.objects.get(pupil=transfer.pupil).subject == transfer
    case = DuplicateCase.objects.get(pk=old["case"])
    assert case.change_request_id == old["request"] and case.recheck_due  # its change was approved
    content_types = apps.get_model("contenttypes", "ContentType").objects
    assert content_types.filter(app_label="accounts", model="membership").exists()
    assert not content_types.filter(app_label="registry", model="membership").exists()

    membership = Membership.objects.get(user_id=old["operator"])
    membership.role = "approver"
    membership.save()
    assert _count("registry_membershipevent") == after["registry_membershipevent"] + 1  # one trigger, not two
