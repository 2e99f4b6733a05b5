"""Case-management vocabulary: task names, descriptions, sources, statuses and priorities."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

TASK_NAMES: tuple[str, ...] = (
    "Call back customer about refund",
    "Verify delivery address",
    "Confirm identity before account change",
    "Escalate billing dispute to finance",
    "Send replacement card",
    "Review chargeback evidence",
    "Schedule technician visit",
    "Follow up on missing parcel",
    "Update customer contact details",
    "Process warranty claim",
    "Reset online banking access",
    "Cancel duplicate subscription",
    "Collect proof of purchase",
    "Investigate failed payment",
    "Approve goodwill credit",
    "Arrange return pickup",
    "Check KYC documents",
    "Explain roaming charges",
    "Reopen complaint after customer reply",
    "Close case after confirmation",
    "Email order summary to customer",
    "Apply loyalty discount",
    "Transfer case to claims team",
    "Confirm appointment reschedule",
    "Verify insurance coverage",
    "Request bank statement",
    "Unlock account after fraud check",
    "Reissue invoice with correct VAT number",
    "Record complaint outcome",
    "Notify customer of delivery delay",
)

# A description is one situation followed by one next step.
TASK_SITUATIONS: tuple[str, ...] = (
    "Customer reported a duplicate charge on the May invoice.",
    "The parcel shows as delivered but the customer has not received it.",
    "Customer moved house and the card was sent to the old address.",
    "Chat escalated after two failed login attempts.",
    "The technician missed the scheduled appointment.",
    "Customer disputes the roaming charges on the last bill.",
    "Payment failed twice with error code 05.",
    "Warranty claim submitted with photos of the damaged screen.",
    "Customer asked to cancel the trial before it renews.",
    "Fraud monitoring flagged three card-not-present transactions.",
    "Customer requested a copy of the signed contract.",
    "The replacement device arrived with a cracked case.",
    "Our order confirmation email bounced.",
    "Customer wants the invoice reissued with the company VAT number.",
    "The call dropped while we were verifying the caller's identity.",
    "The insurance renewal shows the wrong vehicle registration.",
)
TASK_NEXT_STEPS: tuple[str, ...] = (
    "Confirm the amount and issue a refund.",
    "Call back within one business day.",
    "Verify identity before making any change.",
    "Escalate to the billing team if not resolved today.",
    "Ask for a photo of the receipt.",
    "Update the address and resend the card.",
    "Book a new slot and apologise for the delay.",
    "Check the carrier tracking and open a claim.",
    "Send the document by secure email.",
    "Apply a goodwill credit if eligible.",
    "Close the case once the customer confirms.",
)

# Only `rtm` is on the seed page; the others are the channels a contact centre opens cases from.
SOURCES: tuple[str, ...] = ("rtm", "chat", "email", "voice")

# Only Open/open is on the seed page (the status of a new task); the others are plausible later states.
STATUSES: tuple[Mapping[str, str], ...] = tuple(
    MappingProxyType({"name": name, "statusCategory": category})
    for name, category in (
        ("Open", "open"),
        ("In Progress", "inProgress"),
        ("On Hold", "onHold"),
        ("Resolved", "resolved"),
        ("Closed", "closed"),
    )
)


def _priority(name: str, color: str, score: int) -> Mapping[str, Any]:
    return MappingProxyType({"name": name, "color": color, "score": score})


# The platform's priority levels. Only Medium (#16A34A, score 10) is on the seed page; the names,
# colours and scores of Low, High and Urgent are plausible choices, not documented values.
PRIORITIES: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "Low": _priority("Low", "#2563EB", 5),
        "Medium": _priority("Medium", "#16A34A", 10),
        "High": _priority("High", "#EA580C", 15),
        "Urgent": _priority("Urgent", "#DC2626", 20),
    }
)


def task_description(situation: str, next_step: str) -> str:
    """A task description: what happened, then what to do."""
    return f"{situation} {next_step}"


CASE_NAMES: tuple[str, ...] = (
    "Duplicate charge on May invoice",
    "Parcel marked delivered but not received",
    "Card sent to old address",
    "Locked out of online banking",
    "Technician missed appointment",
    "Roaming charges disputed",
    "Payment failing with error 05",
    "Cracked screen under warranty",
    "Cancel trial before renewal",
    "Suspected card fraud",
    "Copy of signed contract requested",
    "Replacement device damaged on arrival",
    "Order confirmation email bounced",
    "Invoice needs company VAT number",
    "Insurance renewal shows wrong vehicle",
    "Refund not received after return",
    "Broadband outage for three days",
    "Change of address on policy",
    "Complaint about agent conduct",
    "Loyalty points missing from account",
)

# A case description is what the customer reported, then what has been done so far.
CASE_REPORTS: tuple[str, ...] = TASK_SITUATIONS
CASE_PROGRESS: tuple[str, ...] = (
    "Customer verified by phone.",
    "Awaiting documents from the customer.",
    "Billing team has been informed.",
    "First contact by chat; follow-up by email.",
    "Second contact about the same issue.",
    "Customer prefers to be called after 5 pm.",
    "Reference number shared with the customer.",
    "No action taken yet.",
)

# Case templates by name: the answer's `caseTmp` (decision case-template-id-in-name-out). `Sales` is
# the seed page's; the others are the kinds of case a contact centre keeps.
CASE_TEMPLATES: tuple[str, ...] = ("Sales", "Billing", "Support", "Claims", "Complaints", "Onboarding")

# Channels a case arrives on and queues it waits in (display names, as listing filters send them).
CHANNELS: tuple[str, ...] = ("rtm", "chat", "email", "voice", "whatsapp")
QUEUES: tuple[str, ...] = ("SupportQueue1", "Billing", "Escalations", "Claims", "VIP")

# Due dates are this many days after a case is opened (a contact centre's usual service levels).
DUE_IN_DAYS: tuple[int, ...] = (1, 2, 3, 5, 7, 10, 14, 30)


def case_description(report: str, progress: str) -> str:
    """A case description: what was reported, then what has happened since."""
    return f"{report} {progress}"
