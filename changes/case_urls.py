"""The duplicate-case resolution form posts here (``/province/cases/<id>/resolve/``)."""

from django.urls import path

from changes import views

app_name = "cases"
urlpatterns = [
    path("cases/<int:case_id>/resolve/", views.case_resolve, name="case_resolve"),
]
