from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("account/password/", views.PasswordChange.as_view(), name="password_change"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<str:prefix>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("account/otp/", views.otp_enrol, name="otp_enrol"),
    path("account/otp/verify/", views.otp_verify, name="otp_verify"),
    path("accounts/<int:pk>/totp-reset/", views.account_totp_reset, name="totp_reset"),
    path("accounts/", views.account_list, name="list"),
    path("accounts/new/", views.account_new, name="new"),
    path("accounts/<int:pk>/", views.account_detail, name="detail"),
    path("accounts/<int:pk>/disable/", views.account_disable, name="disable"),
    path("accounts/<int:pk>/enable/", views.account_enable, name="enable"),
    path("accounts/<int:pk>/unlock/", views.account_unlock, name="unlock"),
    path("accounts/<int:pk>/role/", views.account_role, name="role"),
    path("accounts/<int:pk>/password-reset/", views.account_password_reset, name="password_reset"),
]
