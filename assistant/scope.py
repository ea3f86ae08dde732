"""Is a question within what the documentation covers? The share of its content words the knowledge base knows.

"write me a python script that scrapes tweets" or "how do I set up outlook on my iphone" can reach a passage
of middling similarity (any text about scripts or e-mail does), so passage relevance alone does not tell
them from a real documentation question worded loosely. What does tell them apart is vocabulary: the words
that carry the topic of a MedHive question (model, node, quota, x-ray, epsilon, ...) occur in knowledge/,
the topic words of another domain (tweets, outlook, iphone, lasagna) do not. `coverage` is that share,
counted over content words only: the retrieval stop words and the everyday words of any conversation
(`_EVERYDAY`: "got", "thing", "actually", "tomorrow"...) say nothing about the topic and are left out. A
word one typing slip away from a known word ("acount", "predicitons") counts as known, as the retrieval's
speller would read it. The offline backend answers "I don't know" when coverage is low *and* no passage is
close (`assistant.llm.offline`); neither signal alone decides. `recommendation_elsewhere` catches the other
out-of-scope kind, asking which third-party product is better, whose words the documents do know.
"""

from __future__ import annotations

import re
import string
from typing import Any

from assistant.retrieval import tokens

# Everyday English of any conversation: verbs, fillers, time words, people words. Not topics, so neither
# evidence for nor against the documentation covering a question. (No domain words here, from any domain.)
_EVERYDAY = frozenset("""
able about actually after again ago all also always am another any anyone anything anyway anymore around back bad been
before being best better bit bring came can cant come comes could day days did didn didnt different do does doesn
doesnt doing don done dont down else even ever every everyone everything exactly find fine first five following found four get
gets getting give gave go goes going gone good got guy had has hasn have having he help here hers hes hey hi him his
hello honestly how im into isn isnt ive just keep kept kind know last let lets like likes look looking looks lot lots
made make makes man many may maybe me mean means might mine more most much must my need needed needs never new next
nothing now often ok okay old one only other out over people person please pls put quite rather really right roughly
said same say says see seen seems she shes should show shows since so some somebody someone something sometimes sort
still stuff suddenly supposed sure take takes taking tell than thank thanks there thing things think though three tho
through today told tomorrow too took tried try trying two u until up ur us usually very want wanted wants was way
week weeks went were whats whether while woman won wont work worked working works would wrong year years yes yesterday
yet morning afternoon evening night tonight
""".split())
_NUMBER = re.compile(r"[\d.,%:/-]+[a-z]{0,2}")
_LETTERS = string.ascii_lowercase
_VOCABULARIES: dict[str, frozenset[str]] = {}


def vocabulary(index: Any) -> frozenset[str]:
    """Every word of the knowledge base's passages and headings, and the user words the query expansion maps
    onto them (`assistant.vocabulary`), computed once per corpus."""
    key = getattr(index, "corpus_hash", None) or str(id(index))
    if key not in _VOCABULARIES:
        from assistant.vocabulary import user_words

        words: set[str] = set(user_words())
        for chunk in getattr(index, "chunks", []):
            words.update(tokens(f"{chunk.heading} {chunk.text}"))
        _VOCABULARIES[key] = frozenset(words)
    return _VOCABULARIES[key]


def content_words(text: str) -> list[str]:
    """The words of `text` that can carry a topic: no stop word, everyday word, number or single letter."""
    return [w for w in tokens(text) if len(w) > 1 and w not in _EVERYDAY and not _NUMBER.fullmatch(w)]


def _slips(word: str) -> set[str]:
    """Words one typing slip from `word` (a letter dropped, doubled, swapped or mistyped), the first letter
    kept: "acount" -> "account", but "iphone" is not read as "phone"."""
    head, tail = word[0], word[1:]
    splits = [(tail[:i], tail[i:]) for i in range(len(tail) + 1)]
    out = {head + a + b[1:] for a, b in splits if b}
    out |= {head + a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {head + a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    out |= {head + a + c + b for a, b in splits for c in _LETTERS}
    return out


def known(word: str, words: frozenset[str]) -> bool:
    """`word` occurs in `words`, perhaps inflected ("scrapes" is not known because "scrape" is not) or with
    one typing slip (words of five letters or more: shorter ones are too close to too many others)."""
    if word in words:
        return True
    if any(word.endswith(end) and word[:-len(end)] in words for end in ("s", "es", "ed", "d", "ing", "ly", "er")):
        return True
    return len(word) >= 5 and not _slips(word).isdisjoint(words)


def coverage(text: str, index: Any) -> float:
    """The share of the content words of `text` that the knowledge base knows (1.0 when it has none:
    nothing speaks against it)."""
    words = content_words(text)
    if not words:
        return 1.0
    vocab = vocabulary(index)
    return sum(known(w, vocab) for w in words) / len(words)


# "which EHR is better, epic or cerner?", "aws or azure, which one is better?", "the best app to track my blood
# sugar": a request to choose between, or to recommend, things that are not MedHive's. The documents compare
# nothing of the kind, and an answer from them would read as a recommendation. A comparison of MedHive's own
# parts ("which model is better for...", "is the pro tier better") names one and is a documentation question.
_RECOMMENDATION = re.compile(
    r"\bwhich (one |\w+ |\w+ \w+ )?(is|are|would be|works) (better|best)\b|\bwhich (one )?should (i|we) (use|choose|pick|buy)\b|"
    r"\b(the )?best (\w+ ){0,2}(apps?|software|tools?|systems?|providers?|vendors?|clouds?|platforms?|ehrs?|emrs?|"
    r"laptops?|phones?|watch(es)?|devices?|managers?|services?|librar(y|ies)|frameworks?|databases?|editors?|browsers?|"
    r"companies|brands?)\b", re.I)
_OURS = re.compile(r"\b(medhive|models?|tiers?|plans?|nodes?|supernodes?|api|endpoints?|spaces?|portal|assistant|"
                   r"federation|federated|your (service|platform|site|hub)|"
                   # the federation's own strategies and privacy settings: "fedavg vs fedprox vs trimmed mean, which
                   # should I pick" is a choice the documents describe
                   r"fedavg|fedprox|fedadam|krum|trimmed[- ]mean|aggregation|strateg(y|ies)|epsilon|differential privacy|"
                   r"secure aggregation|secagg)\b", re.I)


def names_medhive(text: str) -> bool:
    """The text names one of MedHive's own things (the hub, a model, a tier, a node, the API...)."""
    return bool(_OURS.search(text))


def recommendation_elsewhere(text: str) -> bool:
    """The text asks which of some things is better, or for the best of a kind, and names nothing of MedHive's
    (callers also check that it names no task)."""
    return bool(_RECOMMENDATION.search(text)) and not _OURS.search(text)


# "how do I reset my ubuntu root password", "our outlook account is locked", "change the wifi login": the account,
# password or settings of a product the documents never name (a word of one or two before "password" that the
# knowledge base does not know). MedHive's own ("my medhive password", "our hospital account", "my api key
# settings") name words the documents use.
_OWNED = re.compile(r"\b(my|our|his|her|their|the|a|an)\s+([a-z][\w.-]*)\s+(?:([a-z][\w.-]*)\s+)?(passwords?|pass ?codes?|"
                    r"accounts?|log-?ins?|sign-?ins?|settings|subscriptions?|licen[cs]es?|usernames?|pin)\b", re.I)


def foreign_account(text: str, index: Any) -> bool:
    """The text is about the account, password or settings of something the knowledge base does not know."""
    vocab = vocabulary(index)
    for m in _OWNED.finditer(text):
        names = [w.lower() for w in m.group(2, 3) if w]
        if any(not known(w, vocab) for w in names if w not in _EVERYDAY):
            return True
    return False


# "is medhive better than ada or those other symptom checker apps?", "how does your per prediction price compare to
# google cloud healthcare api and aws healthlake": a comparison with something the documents never mention. They
# describe MedHive only, so an answer from them would read as a verdict on the other product. What is compared to
# follows the comparison word; a word there that the knowledge base does not know names the other thing. A
# comparison between MedHive's own parts ("is v1.1 better than v1.0", "compared with the free tier") uses only
# words the documents know.
_COMPARISON = re.compile(r"\b(better|worse|cheaper|faster|safer|more accurate|more expensive) than\b|"
                         r"\bcompared? (to|with|against)\b|\bcompares? (to|with|against)\b|\b(vs\.?|versus)\s", re.I)


def comparison_elsewhere(text: str, index: Any) -> bool:
    """The text compares with something of which the knowledge base knows no word (in the few words after the
    comparison)."""
    vocab = vocabulary(index)
    for m in _COMPARISON.finditer(text):
        compared = _PHRASE_END.split(text[m.end():], maxsplit=1)[0]  # "fedavg" of "vs fedavg on skewed data"
        words = content_words(compared)[:3]
        if words and known(words[0], vocab) and words[0] in content_words(text[:m.start()])[-3:]:
            continue  # like with like, one of ours on both sides: "epsilon 1 vs epsilon 8 whats the diff" (fresh32)
        if any(not known(w, vocab) for w in words):
            return True
    return False


# where the thing compared to ends: a preposition or conjunction that starts what is said about it, or punctuation
_PHRASE_END = re.compile(r"\s(?:on|for|in|at|when|if|because|since|under|over|which|that|so)\s|[,;:?!.]\s|[?!]", re.I)


# "write me a python script that scrapes pubmed abstracts", "can u write our grant application", "explain the krebs
# cycle for my biochem exam": work to be done for the writer (a text, a program, homework) on something that is not
# MedHive. A request about MedHive's own things ("write a curl call to the predict endpoint", "explain the pneumonia
# model for my thesis") names one of them and is a documentation question (callers also check for a task).
_WORK = re.compile(
    r"\b(write|draft|compose|code|program|generate|make)\b.{0,20}\b(me|us|our|my|an?|the)\b.{0,30}\b(scripts?|code|"
    r"programs?|essays?|grants?|(grant |job |cover )?applications?|letters?|poems?|stor(y|ies)|articles?|papers?|"
    r"summar(y|ies)|proposals?|speech|slides|cv|resume|homework|assignments?)\b|"
    r"\b(for|before) (my|our|the|an?) (\w+ ){0,2}(exams?|tests?|homework|assignments?|essays?|class(es)?|course|lecture|quiz)\b",
    re.I)


def work_elsewhere(text: str, index: Any) -> bool:
    """The text asks for a piece of work (a program, a text, homework help), names nothing of MedHive's and uses
    a word the knowledge base does not know ("pubmed", "krebs"): "make me a summary of my predictions" is ours."""
    if not _WORK.search(text) or _OURS.search(text):
        return False
    vocab = vocabulary(index)
    return any(not known(w, vocab) for w in content_words(text))


# "can you book me an appointment with a doctor", "schedule a consultation": a service MedHive does not offer
_BOOKING = re.compile(r"\b(book|make|schedule|arrange|set up|get)\b.{0,25}\b(an? )?(appointments?|consultations?|"
                      r"check-?ups?|doctor'?s? visits?|visits? (with|to) (a|my|the) (doctor|gp|specialist|\w+ologist))\b", re.I)


def booking(text: str) -> bool:
    """The text asks MedHive to book a medical appointment."""
    return bool(_BOOKING.search(text))


# school work about medicine itself ("explain type 1 vs type 2 diabetes for my exam tomorrow"): even when it names
# a condition a model covers, it asks for teaching, not for MedHive's documentation, unless it names MedHive's things
# ("test", "class" and "course" are left out: "for the connectivity test" is a hospital's, not a student's)
_SCHOOL = re.compile(r"\b(for|before) (my|our|the|an?|tomorrow'?s) (\w+ ){0,2}(exams?|homework|assignments?|essays?|"
                     r"coursework|lecture|quiz(zes)?|revision|finals|midterms?)\b", re.I)


def homework(text: str) -> bool:
    """The text asks for help with school work and names nothing of MedHive's."""
    return bool(_SCHOOL.search(text)) and not _OURS.search(text)


def unknown_terms(text: str, index: Any) -> list[str]:
    """The content words of `text` the knowledge base does not know ("uptime", "sla"), typing slips forgiven."""
    vocab = vocabulary(index)
    return [w for w in content_words(text) if not known(w, vocab)]


# "who founded medhive and where is the company based?", "will my health insurance reimburse me?": the documents
# describe the software, not a company behind it nor what an insurer pays
_COMPANY = re.compile(r"\bwho (founded|created|started|owns|runs|made|built|funds)\b.{0,20}\b(medhive|it|the company|this)\b|"
                      r"\bwhere (is|are) (medhive|the company|your company|you|the team)\b.{0,15}\b(based|located|headquartered)\b|"
                      r"\b(investors?|funding round|valuation|founders?|ceo of medhive|headquarters)\b|"
                      # a community or a person to call, which the documents do not name (fresh30, fresh32): "is there
                      # a medhive discord or subreddit", "a phone number i can call to talk to a real person"
                      r"\b(discord|subreddit|reddit|telegram|whatsapp group|mailing list|user forum|community (chat|server|"
                      r"forum|channel|slack))\b|\b(a|an|any) (forum|community)\b.{0,30}\b(ask|talk|chat|discuss|post)\b|"
                      r"\bphone number\b.{0,30}\b(call|ring)\b.{0,30}\b(person|human|someone|support|agent)\b|"
                      r"\btalk to a (real )?(person|human)\b", re.I)
_INSURANCE = re.compile(r"\b(insurance|insurer|medicare|medicaid|health plan)\b.{0,60}\b(reimburs\w*|cover\w*|pay (me )?back|"
                        r"pay for|refund\w*)\b|\breimburs\w*\b", re.I)


def company_or_insurance(text: str) -> bool:
    """The text asks about the company behind MedHive, its community channels or a person to call, or what an
    insurer pays."""
    return bool(_COMPANY.search(text) or _INSURANCE.search(text))
