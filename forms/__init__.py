"""Form specs and the plain data every stage shares: forms, organisations, collections,
identities, findings and the template layout."""

from forms.collection import MOSCOW, Collection, Participants, load_collection
from forms.errors import SborError
from forms.findings import Finding, place
from forms.identity import Identity, load_secret
from forms.loader import SpecError, builtin_forms, load_form
from forms.organisations import ORG_KINDS, Organisation
from forms.registry import RegistryError, generate_registry, load_registry, write_registry
from forms.spec import Check, ChoiceList, Field, Form, Sheet
from forms.wording import school_year, worded

__all__ = [
    "MOSCOW", "Check", "ChoiceList", "Collection", "Field", "Finding", "Form", "Identity",
    "ORG_KINDS", "Organisation", "Participants", "SborError", "Sheet", "SpecError", "builtin_forms",
    "RegistryError", "generate_registry", "load_collection", "load_form", "load_registry",
    "load_secret", "place", "school_year", "worded", "write_registry",
]
