from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("pupils/<str:national_number>/", views.pupil_detail, name="pupil_detail"),
]
