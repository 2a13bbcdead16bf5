from django.urls import path

from administration import views

app_name = "administration"
urlpatterns = [
    path("policy/", views.policy_edit, name="policy"),
]
