from django.urls import path

from workflow import views

urlpatterns = [
    path("overdue/", views.overdue, name="overdue"),
]
