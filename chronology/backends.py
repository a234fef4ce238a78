"""Object permissions on children, answered from the access rule.

`user.has_perm("chronology.view_child", child)` answers from the rule's read form
and `"chronology.add_entry"` from its write form (chronology.selectors): an
active involvement of the user's agency, named access to a restricted child, an
outsider's view-only grant, or break-glass. The named grants are django-guardian's
direct foreign-key object permissions (chronology.ChildAccessGrant), read by the
rule in SQL with their dates. guardian's own backend is not installed: it would
answer from the grant rows without their dates or revocation, so a grant that
had ended would still say yes.
"""

from django.contrib.auth.backends import BaseBackend

from .models import Child
from .selectors import child_is_visible_to, child_is_writable_by

CHILD_PERMISSIONS = frozenset({"chronology.view_child", "chronology.add_entry"})


class InvolvementBackend(BaseBackend):
    def has_perm(self, user_obj, perm, obj=None) -> bool:
        if obj is None or not isinstance(obj, Child) or perm not in CHILD_PERMISSIONS:
            return False
        if perm == "chronology.add_entry":
            return child_is_writable_by(user=user_obj, child=obj)
        return child_is_visible_to(user=user_obj, child=obj)
