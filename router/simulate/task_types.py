"""The kinds of work the simulated agents do: token sizes, model tiers, agent names, prompts, tools
and compute, and the steps a task takes."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskType:
    input_tokens: int  # median per call
    output_tokens: int  # median per call (kept where the calibrated prediction can follow)
    tier: tuple[float, float, float]  # weights of the cheap, mid and premium model tiers
    names: tuple[str, ...]  # agent names
    templates: tuple[str, ...]
    tools: tuple[tuple[str, float, int], ...] = ()  # name, share of calls, most per call
    cpu_seconds: float = 0.0  # median per call when used
    gpu_seconds: float = 0.0
    compute_share: float = 0.0
    reasoning: bool = False  # uses hidden reasoning on models that have it
    output_heavy: bool = False


SLOTS: dict[str, tuple[str, ...]] = {
    "topic": ("a delayed refund", "a login failure", "the Q3 price change", "a damaged delivery",
              "an invoice dispute", "the API rate limits", "a data export request"),
    "audience": ("the account manager", "the on-call engineer", "the head of support",
                 "the customer", "the weekly digest"),
    "service": ("payments", "checkout", "search", "billing", "notifications", "auth"),
    "doc": ("scanned invoice", "purchase order", "bank statement", "delivery note",
            "expense receipt", "supplier contract"),
    "lang": ("German", "French", "Spanish", "Japanese", "Portuguese", "Italian", "Dutch"),
    "contract": ("master services agreement", "NDA", "data processing agreement",
                 "reseller agreement", "lease"),
    "metric": ("revenue", "churn", "refunds", "active users", "gross margin", "ticket volume"),
    "period": ("last quarter", "last month", "the past 90 days", "this fiscal year"),
    "market": ("European e-bike", "US payroll software", "Japanese skincare",
               "Nordic grocery delivery", "Indian fintech"),
    "month": ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"),
    "product": ("travel backpack", "noise-cancelling headphones", "standing desk",
                "espresso machine", "smart thermostat"),
}


TASK_TYPES: dict[str, TaskType] = {
    "summarise": TaskType(
        3500, 280, (0.5, 0.4, 0.1), ("thread-summariser", "digest-writer", "meeting-notes",
                                     "ticket-summariser"),
        ("Summarise the {n}-message support thread about {topic} into {k} bullet points for "
         "{audience}.",
         "Write a short summary of this {n}-page report for {audience}, highlighting risks "
         "and decisions.",
         "Condense the meeting transcript ({n} minutes) into action items with owners.")),
    "support-reply": TaskType(
        1800, 420, (0.3, 0.5, 0.2), ("reply-drafter", "helpdesk-agent", "customer-responder",
                                     "escalation-writer"),
        ("Draft a reply to a customer writing about {topic}: apologise, explain the policy "
         "and give next steps.",
         "Write a polite answer to this customer email about {topic}, using the account "
         "history from the CRM.",
         "Prepare an escalation note to {audience} about {topic} and a holding reply to the "
         "customer."),
        tools=(("crm_lookup", 0.6, 2), ("file_search", 0.3, 1)), output_heavy=True),
    "classification": TaskType(
        700, 60, (0.8, 0.2, 0.0), ("email-triage", "intent-classifier", "ticket-router",
                                   "spam-filter"),
        ("Classify this customer email into one of: billing, bug, feature request, "
         "cancellation. The email mentions {topic}.",
         "Label the sentiment and urgency of this ticket about {topic}.",
         "Route this message about {topic} to the right queue and give a confidence.")),
    "extraction": TaskType(
        2500, 320, (0.6, 0.35, 0.05), ("invoice-parser", "doc-extractor", "receipt-reader",
                                       "form-filler"),
        ("Extract the invoice number, supplier, VAT amount and line items from this {doc} as "
         "JSON.",
         "Pull every date, party and amount out of the attached {doc} and return JSON.",
         "Read this {doc} ({n} pages) and fill in the vendor onboarding form fields."),
        gpu_seconds=2.0, compute_share=0.5),
    "code-review": TaskType(
        6000, 420, (0.0, 0.5, 0.5), ("pr-reviewer", "diff-checker", "test-writer",
                                     "refactor-bot"),
        ("Review this {n}-line pull request diff to the {service} service and flag bugs, race "
         "conditions and missing tests.",
         "Write unit tests for the changed functions of the {service} service in this diff.",
         "Explain why this stack trace from the {service} service happens and propose a fix."),
        tools=(("code_interpreter", 0.2, 1),), reasoning=True),
    "sql-generation": TaskType(
        1500, 240, (0.4, 0.5, 0.1), ("sql-writer", "query-assistant", "metrics-bot",
                                     "warehouse-helper"),
        ("Write a SQL query that returns {metric} by week for {period}, joining orders and "
         "refunds.",
         "Fix this failing SQL query on the {metric} table and explain the change.",
         "Translate the question 'how did {metric} change in {period}?' into SQL for our "
         "warehouse schema."),
        cpu_seconds=3.0, compute_share=0.6),
    "research": TaskType(
        3000, 520, (0.1, 0.5, 0.4), ("market-researcher", "web-scout", "competitor-watch",
                                     "lead-researcher"),
        ("Research the {market} market using web search and write a one-page brief with "
         "sources.",
         "Find the five main competitors in the {market} market and compare their pricing.",
         "Collect recent news about the {market} market and summarise what changed in "
         "{period}."),
        tools=(("web_search", 0.7, 4),), output_heavy=True),
    "translation": TaskType(
        1200, 500, (0.5, 0.4, 0.1), ("translator", "localiser", "i18n-bot", "copy-adapter"),
        ("Translate the following {product} description from English to {lang}, keeping the "
         "marketing tone.",
         "Localise these {n} UI strings into {lang}; keep placeholders intact.",
         "Translate this customer email about {topic} into {lang}."),
        output_heavy=True),
    "reconciliation": TaskType(
        5000, 360, (0.3, 0.5, 0.2), ("reconciler", "ledger-matcher", "payment-matcher",
                                     "close-assistant"),
        ("Match these {n} invoice lines to the ledger entries for {month} and list the "
         "mismatches.",
         "Reconcile the {month} bank statement with the payments ledger and explain each "
         "difference.",
         "Find duplicate supplier payments in the {month} ledger export ({n} rows)."),
        tools=(("ledger_api", 0.5, 3),), cpu_seconds=4.0, compute_share=0.4),
    "contract-review": TaskType(
        9000, 480, (0.0, 0.4, 0.6), ("contract-reviewer", "clause-checker", "redliner",
                                     "policy-checker"),
        ("Review this {n}-page {contract} and list risky clauses with a suggested redline "
         "for each.",
         "Compare the attached {contract} with our standard template and flag every "
         "deviation.",
         "Check whether this {contract} complies with our data retention policy."),
        reasoning=True),
    "report-writing": TaskType(
        2000, 560, (0.2, 0.5, 0.3), ("report-writer", "board-pack-writer", "newsletter-bot",
                                     "brief-writer"),
        ("Write the weekly {metric} report for {audience} from these figures, with a short "
         "commentary.",
         "Draft a one-page memo explaining the change in {metric} over {period}.",
         "Turn these bullet points about the {product} launch into a customer newsletter."),
        output_heavy=True),
    "data-analysis": TaskType(
        3000, 450, (0.1, 0.6, 0.3), ("data-analyst", "forecast-bot", "anomaly-explainer",
                                     "kpi-analyst"),
        ("Analyse the attached CSV of {n} rows of {metric} data and explain the main drivers.",
         "Forecast {metric} for next quarter from the last {n} weeks and state the "
         "assumptions.",
         "Find outliers in {metric} over {period} and suggest likely causes."),
        tools=(("code_interpreter", 0.4, 1),), cpu_seconds=6.0, compute_share=0.5),
}


STEPS = ("plan", "draft", "check the draft", "revise", "verify the facts", "finalise")
STEP_WEIGHTS = (0.3, 0.25, 0.2, 0.12, 0.08, 0.05)  # P(a task makes 1..6 calls)


def describe(rng: random.Random, tt: TaskType) -> str:
    text = rng.choice(tt.templates)
    values = {name: rng.choice(options) for name, options in SLOTS.items()}
    values["n"] = str(rng.choice((3, 5, 8, 12, 20, 40, 120, 250, 600)))
    values["k"] = str(rng.choice((3, 4, 5)))
    return text.format(**values)
