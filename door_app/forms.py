"""What the door page accepts: a session to work at, and one scan at a time."""

from bson import ObjectId
from django import forms

from participants_app.models import ticket_code_validator
from sessions_app.models import Session

MODE_IN, MODE_OUT = "in", "out"


class KeptScanForm(forms.Form):
    """A ticket scanned on the session picker, before any session was chosen: kept, not decided.

    Its code is checked only once a session is chosen (as a scan); here it is kept as typed.
    """

    code = forms.CharField(max_length=80, required=False)
    nonce = forms.CharField(max_length=64, required=False)
    kept = forms.CharField(max_length=80, required=False)  # the one kept before, now replaced


class ChooseSessionForm(KeptScanForm):
    """A session chosen by a tap, with the ticket kept from before (if any) to check in at once."""

    session = forms.CharField(max_length=24)

    def clean_session(self) -> Session:
        value = self.cleaned_data["session"]
        session = (
            Session.objects.filter(pk=ObjectId(value)).first() if ObjectId.is_valid(value) else None
        )
        if session is None:
            raise forms.ValidationError("This session does not exist (any more). Choose again.")
        return session


class ScanForm(forms.Form):
    """One scan: the code as read (spaces and case do not matter), the direction, its nonce."""

    code = forms.CharField(
        max_length=64,
        validators=[ticket_code_validator],
        error_messages={"required": "Scan or type a ticket code."},
    )
    mode = forms.ChoiceField(
        choices=[(MODE_IN, "Check in"), (MODE_OUT, "Check out")], required=False
    )
    # The client's idempotency key: the same scan sent twice (a double submit, a retry after a
    # lost answer) is answered once. The page's script makes one per scan; the page itself
    # renders a fresh one for browsers without script.
    nonce = forms.CharField(max_length=64, required=False)

    def clean_mode(self) -> str:
        return self.cleaned_data["mode"] or MODE_IN


class UndoForm(forms.Form):
    """The Undo on an accepted check-in: the nonce that check-in was scanned with."""

    nonce = forms.CharField(max_length=64)
