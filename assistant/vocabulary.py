"""Users' words for what the documentation names otherwise: query expansion for the lexical search.

A patient says "picture" and "keep", the documentation says "image" and "stored"; a hospital's IT person
says "firewall" and "box", the documentation says "port" and "machine". Each entry maps words a user may
type (lower case, matched as whole tokens after `retrieval.tokens`) to the documentation's words, which
are added to the query's terms for BM25 only: the dense embedding sees the question as typed. The words
come from the knowledge base's own vocabulary (every added term occurs in knowledge/), written per family
of meaning, never per evaluation question. Task names are added from the task catalog's keywords.
"""

from __future__ import annotations

import re
from functools import cache

# (user words, documentation words)
_FAMILIES: list[tuple[str, str]] = [
    # inputs
    ("picture pictures pic pics photo photos photograph scan scans xray xrays x-ray x-rays film films upload "
     "uploaded uploads", "image images input"),
    ("signal signals recording recordings trace tracing", "signal ecg"),
    # keeping and deleting
    ("save saved saves saving keep keeps kept retain retained retention hold held storing store record recorded "
     "delete deleted erase log logged logs", "stored kept"),
    ("server servers cloud online remote central centrally", "server centrally"),
    # privacy and federation
    ("leave leaves leaving sent send sends share shared sharing upload transfer transferred outside",
     "leaves leave sent"),
    ("aggregator coordinator", "aggregation server"),
    ("individual individually single separately own", "individual single"),
    ("anonymous anonymised anonymized anonymise anonymize de-identify de-identified deidentified pseudonymise "
     "pseudonymised identifiable", "identifiers de-identified pseudonymous"),
    # (and national identity numbers by their names: Poland's PESEL, the Netherlands' BSN, the UK's NINO, fresh31)
    ("mrn mrns dob ssn ssns phi pii pesel bsn nino aadhaar", "identifier record number date birth"),
    ("sign-off signoff approve approves approval approved permission authorise authorize authorisation "
     "authorization agree agreement", "consent approval"),
    ("offline disconnect disconnects disconnected crash crashes crashed down drop drops dropped dies", "offline drop"),
    # hospital machines and networks
    ("firewall firewalls port ports network networking proxy inbound outbound egress ingress connectivity",
     "port reach network tls"),
    ("ram memory cpu cpus cores core hardware spec specs specification box vm computer requirements",
     "requirements machine memory cores"),
    ("records rows samples cases patients images datapoints entries", "rows cases"),
    ("minimum least smallest enough", "least"),
    ("certificate certificates cert certs ca ssl tls https encryption encrypted", "tls certificate ca"),
    ("check verify test testing validate validation ok okay correct", "validate check"),
    ("spreadsheet csv excel table columns column layout structure format formatted folder folders",
     "format csv columns"),
    # money and limits
    ("charge charged charges bill billed bills billing pay paid pays payment cost costs price prices fee fees "
     "invoice invoices", "billed price invoices"),
    ("free", "free tier"),
    ("resend resends resent retry retries retried duplicate duplicated twice again", "retry idempotency-key"),
    ("throttle throttled throttling 429 429s slow limit limited limits", "rate limit 429"),
    ("calls call requests request used usage consumed consumption", "usage predictions"),
    ("plan plans subscription subscriptions tier tiers upgrade", "tier"),
    # api and accounts
    ("key keys token tokens credential credentials login log-in signin sign-in password auth authenticate",
     "authentication api key token"),
    ("account accounts signup sign-up register registration", "sign up account"),
    ("explanation explanations explain factors why attribution attributions heatmap heat", "explanation shap"),
    # running and configuring
    ("laptop desktop locally local install installation own on-prem on-premise on-premises onprem air-gapped "
     "airgapped air-gap", "locally run"),
    ("setting settings env environment variable variables config configure configuration", "configuration environment"),
    ("hf huggingface hugging", "hugging face"),
    ("kick ban block remove revoke revoked compromised stolen", "revoke"),
    ("version versions release releases rollback roll-back revert downgrade", "version rollback"),
    ("promote promoted promotion publish published deploy deployed go-live live", "promote production candidate version"),
    ("audit trail history logbook", "audit log"),
    # reading results
    ("sick ill disease diseased condition", "diagnosis"),
    ("healthy fine clear safe nothing", "rule out"),
    ("percent percentage score scores number chance odds likely likelihood probability confident confidence",
     "probability score"),
    ("doctor doctors physician gp clinician nurse", "clinician doctor"),
    # roles, formats and kinds of system people name by their acronyms: general words, not products the
    # documents leave out ("Epic", "FHIR", "Helm" stay foreign names, `KnowledgeIndex.foreign_names`)
    ("dpo dpos dpia dpias", "data protection"),
    ("gui ui dashboard dashboards webpage website", "console browser"),
    ("cli terminal shell command-line", "command line"),
    ("ehr ehrs emr emrs chart charts", "records"),
    ("cxr cxrs radiograph radiographs", "chest x-ray"),
    ("ct mri ultrasound", "image"),
    ("ai ml", "model"),
    ("vcpu vcpus", "cores"),
    ("mtls", "tls"),
    ("sve sves svt svts pac pacs pvc pvcs", "supraventricular ventricular"),
    ("veb vebs", "ventricular"),
    # a clinician's shorthand (fresh33): metrics, results, findings
    ("ppv ppvs", "precision"),
    ("npv npvs sens", "sensitivity specificity"),
    ("fbg fpg fbs", "glucose fasting"),
    ("ood", "out-of-distribution distribution"),
    ("tc ldl hdl", "cholesterol"),
    ("af afib a-fib", "atrial fibrillation"),
    ("preds pred", "predictions prediction"),
    ("pt pts", "patient"),
    ("github gitlab bitbucket slack teams", "public"),
    # who is writing and for what kind of organisation: "I'm CIO at Lakeside Regional"
    ("cio cto ceo cmo cmio ciso cno coo", "organization"),
    ("regional general memorial infirmary community county university teaching children's", "hospital"),
]
#: the word after a capitalised name that makes it an organisation's own name ("Lakeside Regional", "Northfield
#: Community Hospital"): a name to take part with, not a product the documents leave out
ORGANISATION_WORDS = frozenset("""
hospital hospitals clinic clinics regional general medical health healthcare university centre center trust
infirmary institute lab labs laboratory laboratories practice cardiology associates group network county memorial
community teaching children's foundation diagnostics imaging radiology
""".split())
# Words of any message that are capitalised without naming anything the documents could cover: days, months,
# greetings. Known words for `scope` and `KnowledgeIndex.foreign_names` (not query expansion).
EVERYDAY_NAMES = frozenset("""
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december dear hello hi thank thanks im ive id ill pls
""".split())

_WORDS = re.compile(r"[a-z0-9][a-z0-9\-]*")


def _table() -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for users, docs in _FAMILIES:
        for word in users.split():
            table.setdefault(word, []).extend(docs.split())
    return {w: tuple(dict.fromkeys(v)) for w, v in table.items()}


_TABLE = _table()


@cache
def user_words() -> frozenset[str]:
    """Every word this table and the task catalog know (not misspellings to put right)."""
    from hub.models import all_tasks

    words = set(_TABLE) | {d for v in _TABLE.values() for d in v} | EVERYDAY_NAMES
    for spec in all_tasks().values():
        words |= set(_WORDS.findall(" ".join(getattr(spec, "keywords", ()) or ()).lower()))
    return frozenset(words)


def expand(query: str) -> str:
    """The query followed by the documentation's words for the user's words, and the task it names."""
    words = _WORDS.findall(query.lower())
    added = [d for w in words for d in _TABLE.get(w, ())]
    from hub.models.catalog import detect_task

    task = detect_task(query)
    if task:
        added += task.split("_")
    return query if not added else f"{query} {' '.join(dict.fromkeys(added))}"
