from django.urls import path

from registry import views

urlpatterns = [
    path("pupils/", views.pupil_list, name="pupil_list"),
]
