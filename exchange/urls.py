from django.urls import path

from exchange import views

app_name = "exchange"
urlpatterns = [
    path("exchange/", views.exchange_page, name="messages"),
    path("exchange/<int:message_id>/retry/", views.message_retry, name="retry"),
    path("exchange/peers/<int:peer_id>/echo/", views.peer_echo, name="peer_echo"),
]
