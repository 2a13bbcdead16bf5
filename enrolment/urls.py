from django.urls import path

from enrolment import views

urlpatterns = [
    path("pupils/new/", views.pupil_register, name="pupil_register"),
]
