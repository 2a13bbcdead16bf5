from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", views.audit, name="audit"),
    path("audit/exports/", views.audit_export_create, name="audit_export_create"),
    path("audit/exports/<int:export_id>/", views.audit_export_detail, name="audit_export_detail"),
    path("audit/exports/<int:export_id>/status/", views.audit_export_status, name="audit_export_status"),
    path("audit/exports/<int:export_id>/download/", views.audit_export_download, name="audit_export_download"),
    path("pupils/<str:national_number>/", views.pupil_detail, name="pupil_detail"),
]
