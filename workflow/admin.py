from django.contrib import admin

from accounts.admin import ScopedAdmin
from workflow.models import WorkItem


@admin.register(WorkItem)
class WorkItemAdmin(ScopedAdmin):
    list_display = ("title", "kind", "school", "division", "due_on", "state")
    list_filter = ("state", "kind")
