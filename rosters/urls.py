"""Pages of the roster (花名册): import with preview and confirmation, export, template."""

from django.urls import path

from rosters import admission_views
from rosters import views as roster_views

app_name = "rosters"
urlpatterns = [
    path("roster/", roster_views.roster_import, name="roster_import"),
    path("roster/imports/<int:job_id>/", roster_views.roster_import_detail, name="roster_import_detail"),
    path("roster/imports/<int:job_id>/confirm/", roster_views.roster_confirm, name="roster_confirm"),
    path("roster/imports/<int:job_id>/report.<str:file_format>", roster_views.roster_report, name="roster_report"),
    path("roster/export/", roster_views.roster_export, name="roster_export"),
    path("roster/exports/<int:export_id>/", roster_views.roster_export_detail, name="roster_export_detail"),
    path("roster/exports/<int:export_id>/download/", roster_views.roster_export_download,
         name="roster_export_download"),
    path("roster/template.xlsx", roster_views.roster_template, name="roster_template"),
    path("admissions/", admission_views.admission_upload, name="admission_upload"),
    path("admissions/<int:admission_id>/", admission_views.admission_detail, name="admission_detail"),
    path("admissions/<int:admission_id>/apply/", admission_views.admission_apply, name="admission_apply"),
]
