"""School-facing pages: roster import/export (花名册)."""

from schools import roster_urls

app_name = "schools"
urlpatterns = roster_urls.urlpatterns
