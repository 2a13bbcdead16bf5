from django.urls import path

from registry import views

urlpatterns = [
    path("", views.home, name="home"),
    path("overdue/", views.overdue, name="overdue"),
    path("pupils/", views.pupil_list, name="pupil_list"),
    path("pupils/<str:national_number>/", views.pupil_detail, name="pupil_detail"),
]
