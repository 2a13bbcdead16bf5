"""School-facing pages: roster import/export (花名册) and photos (照片)."""

from schools import photo_urls, roster_urls

app_name = "schools"
urlpatterns = roster_urls.urlpatterns + photo_urls.urlpatterns
