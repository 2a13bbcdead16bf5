"""Confirming a checked roster: good rows only, or all or nothing; bulk writes with audit."""

from __future__ import annotations

import datetime as dt

import pytest

from kernel.errors import Conflict, Forbidden, ValidationFailed
from registry.models import Guardian, HistoryEntry, Pupil
from rosters import checking, exporting, jobs
from rosters.models import RosterImport
from schools.models import SchoolClass
from tests.factories import make_pupil
from tests.rosters.test_support import fast_passwords, roster_media, roster_row, rows_of, with_mother, xlsx_bytes  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords", "roster_media")


def _checked(user, rows) -> RosterImport:
    job = jobs.roster_upload(user=user, content=xlsx_bytes(rows), file_name="r.xlsx")
    return jobs.roster_check(job_id=job.pk)


def _import(user, job, mode) -> RosterImport:
    jobs.roster_confirm(user=user, job_id=job.pk, mode=mode)
    return jobs.roster_import_rows(job_id=job.pk)


def _mixed(world):
    return [
        roster_row(world.school_a1, seq=11),
        roster_row(world.school_a1, name="钱小红", sex="女", seq=12, class_number="3"),
        roster_row(world.school_a1, name="孙坏", seq=13, ethnicity="火星族"),
        with_mother(roster_row(world.school_a1, name="周无证", seq=14, id_type="其他", id_number="")),
    ]


def test_good_rows_mode_imports_every_good_row_and_reports_the_rest(world):
    user = world["a1"].operator
    job = _checked(user, _mixed(world))
    assert (job.new_rows, job.refused_rows) == (3, 1)
    job = _import(user, job, RosterImport.Mode.GOOD_ROWS)
    assert job.status == RosterImport.Status.IMPORTED
    assert job.imported_rows == 3
    report = rows_of(job)
    assert report[4]["outcome"] == "refused"
    created = Pupil.objects.filter(name__in=["赵小明", "钱小红", "周无证"]).select_related("school_class")
    assert created.count() == 3
    by_name = {p.name: p for p in created}
    assert by_name["赵小明"].national_number.startswith("L440106")
    assert by_name["周无证"].national_number.startswith("J440106")
    assert report[2]["national_number"] == by_name["赵小明"].national_number
    assert by_name["钱小红"].school_class.number == 3
    assert SchoolClass.objects.filter(school=world.school_a1, grade=3, number=3).count() == 1
    assert Guardian.objects.filter(pupil__in=created, is_first_guardian=True).count() == 3
    entry = HistoryEntry.objects.get(pupil=by_name["赵小明"])
    assert entry.kind == "registered" and entry.actor == user and entry.data["roster_import"] == job.pk


def test_all_or_nothing_refuses_at_confirmation_when_a_row_is_bad(world):
    user = world["a1"].operator
    job = _checked(user, _mixed(world))
    with pytest.raises(ValidationFailed) as refused:
        jobs.roster_confirm(user=user, job_id=job.pk, mode=RosterImport.Mode.ALL_OR_NOTHING)
    assert refused.value.code == "rows_refused"
    assert not Pupil.objects.filter(name="赵小明").exists()


def test_all_or_nothing_writes_nothing_when_a_row_turned_bad_after_the_dry_run(world):
    user = world["a1"].operator
    rows = [roster_row(world.school_a1, seq=21), roster_row(world.school_a1, name="钱小红", sex="女", seq=22)]
    job = _checked(user, rows)
    assert job.refused_rows == 0
    # meanwhile another school registers the second child
    import datetime as dt

    from tests.factories import make_pupil

    make_pupil(world.school_b1, name="钱小红", sex="2", birth_date=dt.date(2016, 4, 4), id_number=rows[1]["id_number"])
    job = _import(user, job, RosterImport.Mode.ALL_OR_NOTHING)
    assert job.status == RosterImport.Status.REFUSED
    assert job.imported_rows == 0
    assert not Pupil.objects.filter(name="赵小明").exists()
    assert rows_of(job)[3]["problems"][0]["code"] == "id_number_active_elsewhere"


def test_all_or_nothing_imports_everything_when_all_rows_are_good(world):
    user = world["a1"].operator
    job = _checked(user, [roster_row(world.school_a1, seq=31), roster_row(world.school_a1, name="钱小红", sex="女", seq=32)])
    job = _import(user, job, RosterImport.Mode.ALL_OR_NOTHING)
    assert (job.status, job.imported_rows) == (RosterImport.Status.IMPORTED, 2)


def test_created_pupils_are_audited_with_the_actor(world):
    user = world["a1"].operator
    job = _import(user, _checked(user, [roster_row(world.school_a1, seq=41)]), RosterImport.Mode.GOOD_ROWS)
    pupil = Pupil.objects.get(name="赵小明")
    event = Pupil.pgh_event_model.objects.filter(pgh_obj=pupil).select_related("pgh_context").get()
    assert event.pgh_label == "insert"
    assert event.pgh_context.metadata["username"] == user.username
    assert event.pgh_context.metadata["roster_import"] == job.pk
    assert event.pgh_context.metadata["unit"] == world.school_a1.code
    assert event.name == pupil.name and event.national_number == pupil.national_number
    guardian_events = Guardian.pgh_event_model.objects.filter(pgh_obj__pupil=pupil, pgh_label="insert")
    assert guardian_events.count() == pupil.guardians.count() >= 1
    # its registration review too, written per batch like the pupils' events
    from enrolment.models import Registration

    review = Registration.objects.get(pupil=pupil)
    review_event = Registration.pgh_event_model.objects.select_related("pgh_context").get(pgh_obj=review)
    assert (review_event.pgh_label, review_event.pgh_context.metadata["username"]) == ("insert", user.username)


def test_confirm_twice_is_a_conflict(world):
    user = world["a1"].operator
    job = _checked(user, [roster_row(world.school_a1, seq=51)])
    jobs.roster_confirm(user=user, job_id=job.pk, mode=RosterImport.Mode.GOOD_ROWS)
    with pytest.raises(Conflict):
        jobs.roster_confirm(user=user, job_id=job.pk, mode=RosterImport.Mode.GOOD_ROWS)


def test_only_the_uploader_confirms_and_outsiders_do_not_see_the_job(world):
    user = world["a1"].operator
    job = _checked(user, [roster_row(world.school_a1, seq=61)])
    with pytest.raises(Forbidden):
        jobs.roster_confirm(user=world["county_a"].operator, job_id=job.pk, mode="good_rows")
    from kernel.errors import NotFound

    with pytest.raises(NotFound):
        jobs.roster_confirm(user=world["b1"].operator, job_id=job.pk, mode="good_rows")


def test_reimport_of_an_export_is_all_unchanged(world):
    user = world["a1"].operator
    _import(user, _checked(user, _mixed(world)), RosterImport.Mode.GOOD_ROWS)
    content, _name, count = exporting.roster_export(user=user, filters=exporting.RosterFilter(school=world.school_a1.code))
    assert count == 4  # three imported + the world's pupil
    job = jobs.roster_check(job_id=jobs.roster_upload(user=user, content=content, file_name="x.xlsx").pk)
    assert (job.total_rows, job.unchanged_rows, job.new_rows, job.refused_rows) == (4, 4, 0, 0), job.refused


def test_confirm_checks_again_when_the_registry_changed_since_the_dry_run(world):
    """A pupil registered between the dry run and the confirm with the same ID wins; the
    roster row is refused, never written twice."""
    user = world["a1"].operator
    line = roster_row(world.school_a1, seq=71)
    job = _checked(user, [line])
    assert job.new_rows == 1
    make_pupil(world.school_b1, name=line["name"], id_number=line["id_number"],
               birth_date=dt.date.fromisoformat(line["birth_date"]))
    job = _import(user, job, RosterImport.Mode.GOOD_ROWS)
    assert job.imported_rows == 0
    assert Pupil.objects.filter(id_number=line["id_number"]).count() == 1
    [row] = [r for r in jobs.load_rows(job) if r["row"] == 2]
    assert {p["code"] for p in row["problems"]} == {"id_number_active_elsewhere"}


def test_confirm_reuses_the_dry_run_when_nothing_changed(world, django_assert_max_num_queries, monkeypatch):
    user = world["a1"].operator
    job = _checked(user, [roster_row(world.school_a1, seq=72)])
    monkeypatch.setattr(checking, "_check_against_registry", lambda *a, **k: pytest.fail("checked the registry again"))
    job = _import(user, job, RosterImport.Mode.GOOD_ROWS)
    assert job.imported_rows == 1


def test_confirm_writes_the_dry_runs_checked_records_without_reading_the_file_again(world, monkeypatch):
    """Nothing changed since the dry run: the import writes the records as the dry run
    checked them (codes resolved), and keeps no copy of them afterwards."""
    user = world["a1"].operator
    job = _checked(user, [roster_row(world.school_a1, seq=73, ethnicity="汉族")])
    assert job.records_file
    monkeypatch.setattr(jobs, "_read_job_table", lambda job: pytest.fail("read the file again"))
    job = _import(user, job, RosterImport.Mode.GOOD_ROWS)
    assert job.imported_rows == 1 and not job.records_file
    pupil = Pupil.objects.get(id_number=roster_row(world.school_a1, seq=73)["id_number"])
    assert pupil.ethnicity == "01" and pupil.guardians.count() == 1


def test_confirm_on_a_later_day_checks_every_row_again(world):
    """Rules that count from today (a birth date not in the future, ages) were judged on
    the dry run's day: confirmed on another day, the file is read and checked again."""
    import time_machine

    user = world["a1"].operator
    job = _checked(user, [roster_row(world.school_a1, seq=74)])
    read = []
    original = jobs._read_job_table
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=1), tick=True):
        jobs.roster_confirm(user=user, job_id=job.pk, mode=RosterImport.Mode.GOOD_ROWS)
        jobs._read_job_table = lambda job: read.append(job.pk) or original(job)
        try:
            job = jobs.roster_import_rows(job_id=job.pk)
        finally:
            jobs._read_job_table = original
    assert read == [job.pk] and job.imported_rows == 1


def test_confirm_refuses_the_rows_of_a_school_the_uploader_may_no_longer_write(world):
    """The school of each checked row is asked again at the import: an uploader moved to
    another county meanwhile writes nothing into the old county's schools, and is told why."""
    user = world["county_a"].operator
    job = _checked(user, [roster_row(world.school_a1, seq=75)])
    assert job.new_rows == 1
    jobs.roster_confirm(user=user, job_id=job.pk, mode=RosterImport.Mode.GOOD_ROWS)
    user.membership.division = world.county_b
    user.membership.save()
    job = jobs.roster_import_rows(job_id=job.pk)
    assert job.imported_rows == 0
    [row] = [r for r in jobs.load_rows(job) if r["row"] == 2]
    assert row["outcome"] == "refused" and row["problems"][0]["column"] == "学校标识码"


def test_confirm_checks_the_file_again_when_the_checked_records_are_gone(world):
    from django.core.files.storage import default_storage

    user = world["a1"].operator
    job = _checked(user, [roster_row(world.school_a1, seq=76)])
    default_storage.delete(job.records_file)
    job = _import(user, job, RosterImport.Mode.GOOD_ROWS)
    assert job.status == RosterImport.Status.IMPORTED and job.imported_rows == 1
