"""Object permissions on children, answered from agency involvements.

This is our documented equivalent of django-guardian's object permissions. It
keeps the `user.has_perm(perm, obj)` API that guardian offers, but the grant is
the Involvement row itself: a dated period in which an agency works with a
child. Copying those periods into guardian's generic permission tables would
give two sources of truth, and guardian's generic tables are known to slow down
at hundreds of thousands of objects (django-guardian issues #68, #151, #811).
Lists use the same rule as a single EXISTS in SQL (see chronology.selectors).
"""

from django.contrib.auth.backends import BaseBackend

CHILD_PERMISSIONS = frozenset({"chronology.view_child", "chronology.add_entry"})


class InvolvementBackend(BaseBackend):
    def has_perm(self, user_obj, perm, obj=None) -> bool:
        from chronology.models import Child
        from chronology.selectors import child_is_visible_to

        if obj is None or not isinstance(obj, Child) or perm not in CHILD_PERMISSIONS:
            return False
        return child_is_visible_to(user=user_obj, child=obj)
