from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("account/password/", views.PasswordChange.as_view(), name="password_change"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<str:prefix>/revoke/", views.token_revoke_view, name="token_revoke"),
]
