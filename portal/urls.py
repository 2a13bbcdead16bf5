from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", views.audit, name="audit"),
    path("pupils/<str:national_number>/", views.pupil_detail, name="pupil_detail"),
]
