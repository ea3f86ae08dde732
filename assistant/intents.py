"""Intent routing for the offline backend: which task a message is about and what the user wants.

Plain keyword and pattern rules, checked in a fixed order, so routing is deterministic and explainable.
Anything that is not a request for an action is a question for the knowledge base.
"""

from __future__ import annotations

import re
from functools import cache


def detect_task(text: str) -> str | None:
    """The task a message names, the first mentioned when several are (the task catalog's keywords)."""
    from hub.models.catalog import detect_task as catalog_detect

    return catalog_detect(text)


# a score as people quote it: "82%", "0.91", "82 percent"
# (never part of a version or a dotted number: "v1.1", "1.32.1" are not scores)
_SCORE = r"((?<![\w.])\d{1,3}(\.\d+)?\s?(%|percent)|(?<![\w.])0?\.\d+\b(?!\.\d))"
# words for a result that name no task
_RESULT_WORDS = r"\b(abnormal|normal|positive|negative)\b"


def _outcomes() -> str:
    """What a quoted score is said about: the catalog's labels and task words, and generic result words."""
    from hub.models.catalog import outcome_pattern

    return f"{outcome_pattern()}|{_RESULT_WORDS}"


@cache
def _compiled(outcomes: str) -> list[tuple[str, re.Pattern[str]]]:
    """The rules for one catalog (the interpret rule names its labels and task words), compiled once."""
    return [
        ("onboarding", re.compile(r"\b(onboard|connect|join|register|enrol+|sign up|add|bring|set up|setup)\b.{0,40}\b(hospital|"
                                  r"clinic|organi[sz]ation|node|site|data provider|department)s?\b|\b(hospital|clinic)\b.{0,40}\b(join(ing)?|connect(ing)?|"
                                  r"onboard(ing)?|contribut(e|ing)|participat(e|ing)|take part|help train|become a data provider)\b|"
                                  r"\b(as|become) an? (new )?data provider\b|\benrol+ment token\b.{0,30}\b(create|get|need|new|give)|"
                                  r"\b(create|get|need|new|give)\b.{0,30}\benrol+ment token", re.I)),
        ("usage", re.compile(r"\b(my|our|remaining|left)\b.{0,40}\b(usage|quota|predictions|limit|invoice|bill)|"
                             r"\b(usage|quota)\b.{0,30}\b(my|our|left|remaining|this month)|how many predictions (do|have|can) (i|we)|"
                             r"\bhow many (predictions|calls|api calls|requests)\b.{0,40}\b(i|we|my|our)\b",
                             re.I)),
        ("tiers", re.compile(r"\b(tiers?|pricing|price list)\b|\bfree predictions\b|\bcost (per|of a) prediction\b|"
                             r"\bpay[- ]?per[- ]?use\b|\bhow much\b.{0,40}\b(cost|costs|pay|charge|charged)\b|"
                             r"\b(is it|is this|are they|it's) free\b|\bis (medhive|the (service|platform|app|api|portal|site)) (\w+ )?free\b|"
                             r"\b(do|will|would|must) (i|we|you|students|patients) (have to|need to|ever) pay\b", re.I)),
        ("contributions", re.compile(r"\b(our|my)\b.{0,40}\b(contribution|contributed|rounds?|epsilon spent|privacy budget)|"
                                     r"\bround status\b|\bstatus of (the )?(training )?rounds?\b|\bcontribution history\b", re.I)),
        ("report", re.compile(r"\b(make|create|export|generate|give|save|download|print|get|send|want|need|produce|write)\b"
                              r".{0,40}\b(pdf|report)\b|\b(as|into|in) an? (pdf|report)\b|^\W*(pdf|report)( it| that| please)?\W*$",
                              re.I)),
        # about the prediction just made ("explain that", "why?", "what drove the result"), not "explain secure
        # aggregation" or "why is the S beat precision so poor" (documentation questions)
        ("explain", re.compile(r"^\W*(explain|why)\W*(it|this|that|please)?\W*$|^\W*(explain|why) (it|this|that)\b|"
                               r"\bwhy did (it|the model)\b|\bkey factors\b|\b(explain|what drove)\b.{0,20}\b(the|this|that|"
                               r"my)\b.{0,20}\b(result|prediction|output|case|score)\b", re.I)),
        ("interpret", re.compile(_SCORE + r".{0,30}(" + outcomes + r")|(" + outcomes + r").{0,30}" + _SCORE + "|"
                                 r"\bwhat does (this|that|my|the|a|an)\b.{0,60}\b(result|mean|score|probability|output)|"
                                 r"\b\d{1,3}(\.\d+)?\s?%.{0,40}\b(mean|means|meaning)\b|\bis (this|that|my result) (bad|good|serious)",
                                 re.I)),
        ("predict", re.compile(r"\b(predict|classify|run|try|test|analy[sz]e|check|score|assess)\b.{0,60}\b(model|case|"
                               r"image|x-?ray|ecg|record|file|values?|example|sample|this|photo|scan|fundus|signal)|"
                               r"\b(on|with) (an|the|a built-in) example\b", re.I)),
        # the models themselves are the object ("which models do you have?"), not something about them
        # ("which datasets were the models trained on?" is a documentation question)
        ("list_models", re.compile(r"\b(which|what)( other| kinds? of| diagnostic)? models\b(?!.{0,30}\b(for|trained|work|use|"
                                   r"need|read)\b)|\b(list|show)( me)?( all)?( the| your)? models\b|\bavailable models\b|"
                                   # (not "how the models are protected": something said of them, fresh31)
                                   r"\bmodels (are(?!\s+(\w+ed|\w+en|being|kept|stored|made|built|signed)\b)|do you have|"
                                   r"does medhive have|exist|are there)\b|\ball (the )?models\b|"
                                   r"\bcompare (the )?models\b", re.I)),
        ("model_info", re.compile(r"\bhow (accurate|good|reliable|well)\b|\b(metrics?|accuracy|auc|sensitivity|specificity|"
                                  r"precision|recall|f1|performance)\b.{0,40}\b(of|for) the\b", re.I)),
    ]


# "how do I ...", "where can we ...": a question about how to do something is answered from the
# documentation, not by running the tool that does it
_HOW_TO = re.compile(r"^\W*([^,.?!]{0,40},\s*)?(how (do|can|should|would|to)|where (do|can|should|is|are|does)|which endpoint|"
                     r"what endpoint|what('s| is) the (best )?way)\b|"
                     # the question word put last, as a note beside a task ("new enrollment token - where?",
                     # "promote the candidate, how?", "api key for the staging server: which page?")
                     r"[-\u2013\u2014,:;(]\s*(where|how|which (page|command|endpoint|screen|menu))\b[^.!?]{0,20}\?*\W*$",
                     re.I)
# a problem report ("our node is not joining", "keeps failing"): troubleshooting, not a status tool
# "not" as the other of two alternatives ("glaucoma / not", "whether or not") reports no problem
_PROBLEM = re.compile(r"(?<!/ )(?<!/)(?<!\bor )\b(not|n't|won'?t|can'?t|cannot|fails?|failed|failing|errors?( out)?|errored|"
                      r"crash(es|ed|ing)?|refused|rejected|complains?|stuck|"
                      r"declin(e|es|ed|ing)|keeps? (dropping|crashing|failing|declining)|broken|wrong)\b", re.I)
# intents that act for the user: a how-to question or a problem report goes to the documentation instead
# a metric or a measurement quoted with its number ("AUC 0.867", "sensitivity of 0.43", "out-of-distribution with
# score 1.7", "a cup-to-disc ratio of 0.6"): not a model's result for a case to interpret
_METRIC_NUMBER = re.compile(r"\b(auc|roc[- ]?auc|accuracy|sensitivity|specificity|precision|recall|f1|ece|brier|kappa|temperature|"
                            r"ratio|interval|ci|iop|out[- ]of[- ]distribution|ood)\b\W{0,3}((of|is|was|at|with|=|:)\s*)?"
                            r"((a|an|the)\s+)?(score\s+)?\(?\d|"
                            # the number first: "how was the pneumonia model's 0.998 AUC measured" (fresh33)
                            r"\b\d(\.\d+)?\s*(auc|roc[- ]?auc|accuracy|sensitivity|specificity|precision|recall|f1|ece)\b", re.I)
# a refusal reported ("it wouldn't give a result", "said the image is out of distribution", "refused"): no score
_REFUSED = re.compile(r"\bout[- _]of[- _]distribution\b|\b(refused|rejected)\b|\b(wouldn'?t|would not|didn'?t|did not|won'?t) "
                      r"(give|show|return) (me )?(a |any )?(result|score|answer)\b|\bno (result|label|score)\b", re.I)
_DOC_FIRST = {"usage", "contributions", "explain", "predict", "list_models", "report", "onboarding"}
# a question about something ("can I run this without internet?", "will it work with ...?", "why does our node
# decline rounds?", "what happens when our budget runs out?"): asked to know, not to have it done; "how many" and
# "how much" ask for the caller's own figures and stay with the account tools
_ASKING = re.compile(r"(?:^|[:.!?]\s+)\W*(why|what happens|what if|can (i|we|my|our|this|it|the|a|an)\b|"
                     r"could (i|we|my|our|this|it)\b|will (it|this|that|the|my|our|a|an|i|we)\b|would (it|this|that|the|my|"
                     r"our|i|we)\b|does (it|this|that|the|my|our|medhive)\b|do (i|we|you) (need|have to|get)\b|"
                     r"is (it|this|that|there)\b|are (there|they|you)\b|should (i|we)\b|when (do|does|is|are|will)\b)|"
                     r"[,;]\s*(but )?why\W*$", re.I)
# an administrator's action ("approve St Mary's request", "promote v1.1 to production"): no chat tool does it, the
# documentation says which command or page does
_ADMIN_ACTION = re.compile(r"\b(approve|approving|reject|rejecting|deny|promote|promoting|roll ?back|rolling back|revoke|"
                           r"suspend|deactivate|kick|ban)\b", re.I)


def admin_action(text: str) -> bool:
    """An administrator's action ("approve St Mary's request to join"): the documentation says where it is done."""
    return bool(_ADMIN_ACTION.search(text))


# an organisation asking to take part, even as a question ("can we connect our hospital to the federation?",
# "we want to take part in the glaucoma training. How do we sign up?"): onboarding starts; a question about a
# later step ("got our enrollment token, what's the exact command to enrol the node") is a how-to for the docs
_JOIN = (r"(join(ing)?|connect(?!\w*\s+(through|via|over|behind|using|inbound|outbound|to (the |our |your )?(proxy|port|"
         r"aggregat\w+|superlink|server|internet)))|take part|taking part|participat(e|ing|ion)|contribut(e|ing)|sign (us |our \w+ )?up|enrol+|"
         r"onboard|(be|become) (a )?part of|partner(ing)? (with|as)|(be|become) one of (the|your) \w+|"
         r"help (to )?(train|improve|build)|(data )?(to )?feed (in|into)|get connected|"
         r"get(ting)? (involved|on ?board)|in on\b|"
         r"register( as)?|share (our |their |its )?(data|records|images|scans|recordings)(?!\s+with\s+(the\s+)?(other|another|each))|"
         r"become (a |an )?(data )?(provider|partner|contributor|member|participant|site))")
# the words for an organisation that can take part; a request to join also names one, or the federation itself
_ORGANISATION_NOUN = (r"(hospitals?|clinics?|practice|organi[sz]ation|site|lab|laborator(y|ies)|centre|center|unit|department|dept|"
                      r"ward|institute|trust|group|network|consortium)")
_WISH = re.compile(
    r"\b(we|i|our)\b[^.?!]{0,120}?(\b(wants?|wish(es)?|hopes?|plan(s|ning)?|keen|interested|like|love)\b|'d (like|love|want))\b"
    r".{0,40}\b(to |in )?" + _JOIN, re.I)
# a decision already taken, as strong as a wish: "the board approved joining MedHive as a contributing site"
_DECIDED = re.compile(r"(?<!be )(?<!been )(?<!is )(?<!are )(?<!get )(?<!gets )(?<!getting )\b(approved|agreed (to|on)|decided (to|on)|signed off on|voted (for|to)|green[- ]?lit)\b.{0,20}\b"
                      + _JOIN, re.I)
# offering the organisation's data to a training, as strong as a wish: "can we plug our chest x-rays into the
# pneumonia training?", "we want to give our heart patients' data for the heart disease model training"
_OFFER = re.compile(r"\b(we|our \w+)\b[^.?!]{0,40}\b(plug|put|add|bring|lend|offer|give|contribute|feed|use)\w*\b[^.?!]{0,40}"
                    r"\b(data|records|images|x-?rays|scans|recordings|films|cases)\b[^.?!]{0,40}\b(training|federation|"
                    r"federated)\b|"
                    # "we want our cath lab data to count toward the heart disease model"
                    r"\b(we|our \w+)\b[^.?!]{0,40}\b(data|records|images|x-?rays|scans|recordings|films|cases)\b[^.?!]{0,10}"
                    r"\b(to )?(count|go|feed|contribute|be used)\w*\b[^.?!]{0,10}\b(toward|towards|into|to|for|in)\b[^.?!]{0,40}"
                    r"\b(training|federation|federated|models?)\b", re.I)
_JOIN_REQUEST = re.compile(
    _WISH.pattern + r"|"
    r"\b(can|could|may) (we|our( \w+)? (team|" + _ORGANISATION_NOUN + r"))\b.{0,20}\b" + _JOIN + r"|"
    # "can a small private clinic like ours also sign up?"
    r"\b(can|could|may) (an?|any|small|smaller|other|private)\b[^.?!]{0,30}\b" + _ORGANISATION_NOUN + r"\b[^.?!]{0,25}\b"
    + _JOIN + r"|"
    r"\bhow (do|can|would|could|should) (we|i|our( \w+)? " + _ORGANISATION_NOUN + r") (go about |start |begin )?" + _JOIN
    + r"\b(?!.{0,20}\b(node|token)\b)|"
    # an organisation, by name, as the one who wishes: "Mercy Valley Medical Centre wants to become one of the hospitals"
    r"\b" + _ORGANISATION_NOUN + r"\b[^.?!]{0,40}?\b(wants?|wish(es)?|hopes?|plans?|is keen|is interested|would like)\b"
    r".{0,40}\b(to |in )?" + _JOIN + r"|"
    + _DECIDED.pattern + r"|"
    + _OFFER.pattern + r"|"
    # an order: "please register us", "sign our clinic up"
    r"\b(please )?(register|enrol+|onboard|sign up) (us|our (\w+ )?" + _ORGANISATION_NOUN + r")\b(?!')"
    r"(?![^.?!]{0,40}\b(tiers?|plans?|accounts?|pay[- ]per[- ]use|enterprise|free)\b)|"
    r"\bsign (us|our (\w+ )?" + _ORGANISATION_NOUN + r") up\b|\badd us\b|"
    # "Please register St. Aldric Medical Centre for MedHive training": an organisation by its name
    r"(?:^|[.!?]\s+)(please )?(register|enrol+|sign up|onboard)\b[^?!]{0,50}?\b" + _ORGANISATION_NOUN
    + r"\b(?![^.?!]{0,40}\b(tiers?|plans?|accounts?|pay[- ]per[- ]use|enterprise|free)\b)", re.I)
_ORGANISATION = re.compile(r"\b(" + _ORGANISATION_NOUN + r"|training|federation|federated|data provider)\b", re.I)
_LATER_STEP = re.compile(r"\b(got|have|has|received|already)\b.{0,30}\btoken\b|\b(exact|which|what) commands?\b|"
                         r"\bcommands? (to|for)\b", re.I)
# a question about the process itself ("what are all the steps to join, and how long does approval take?",
# "what does joining involve?"): answered from the onboarding guide, not by starting the onboarding questions
_ABOUT_PROCESS = re.compile(r"\b(what|which) (are|is) (all )?(the )?(steps?|process|procedure|requirements?|stages?)\b|"
                            r"\b(steps?|process|procedure) (to|for|of)\b|\bhow long\b|\bwhat does (it|joining|onboarding"
                            r"|enrol+ing|the process) (involve|take|need|require)\b|\bwho (approves|decides)\b", re.I)


def _join_request(text: str) -> bool:
    """An organisation asks to take part. A question about the process alone is for the guide; with a wish
    stated ("we want in on the heart disease training, what's the process?") the onboarding starts (its
    replies say the steps)."""
    return bool(_JOIN_REQUEST.search(text) and _ORGANISATION.search(text) and not _PROBLEM.search(text)
                and not _LATER_STEP.search(text)
                and (_WISH.search(text) or _DECIDED.search(text) or _OFFER.search(text) or not _ABOUT_PROCESS.search(text)))


# "can I run every model at once?": a question about the screening form, not a case to predict
_SEVERAL_MODELS = re.compile(r"\b(every|all( the| your)?|several|multiple|many|\d+) (of the )?models?\b.{0,30}"
                             r"\b(at once|together|in one go|at the same time|one form|one request|one call)\b|"
                             r"\b(at once|in one go|one form)\b.{0,30}\b(every|all|several|multiple) (the )?models?\b", re.I)


# A prediction runs when the message carries a case (typed values, an attached file: the caller says so), names a
# built-in example, or asks for one in the imperative ("predict ...", "run the ecg model on ...", "can you check
# my x-ray", "I'd like to try the glaucoma model"). A sentence about prediction ("breast_cancer predict returns
# 'value out of range'", "we get 503 on /v1/models/pneumonia/predict") is for the documentation, and so is a
# request followed by a question about it ("We'd like to run every X-ray through it. Is it meant for that?").
_PREDICT_VERB = r"(predict|classify|run|try|test|analy[sz]e|check|score|assess|evaluate|screen|look at|use)"
_TO_PREDICT = re.compile(
    r"^\W*((hi|hello|hey|ok(ay)?|so|now)\b\W*)?(please |pls |kindly )?((can|could|would|will) you (please )?|"
    r"(i|we)( would|'d|'ll)? (like|want|need|wish)( you)? to |let'?s |let me |go ahead and )?(please )?"
    + _PREDICT_VERB + r"\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


def _requests_prediction(text: str) -> bool:
    later = _SENTENCE_END.split(text.strip())[1:]
    return bool(_TO_PREDICT.search(text)) and not any(_ASKING.search(s) or _HOW_TO.search(s) for s in later)


# a how-to anywhere in the text ("Key factors section on the PDF - SHAP? How do I read +ve vs -ve contributions"):
# with no prediction made, "explain" and "report" have nothing to act on and the documentation answers (fresh33)
_HOW_ANYWHERE = re.compile(r"\bhow (do|can|should|would|to) (i|we|you|one|they)?\b|\bwhat does (it|this|that|the \w+) mean\b",
                           re.I)


def _asked_to_do(name: str, text: str, *, has_prediction: bool) -> bool:
    """A question that is a request: "can I get a PDF of it?" after a prediction, "can I try it on an example?"."""
    if name in ("explain", "report"):
        return has_prediction
    return name == "predict" and bool(re.search(r"\b(examples?|sample|demo)\b", text, re.I))


def route(text: str, *, has_attachment: bool = False, has_values: bool = False, has_prediction: bool = False) -> str:
    """The intent of a message: one of the rule names above, or "question".

    `has_prediction`: a prediction was made earlier in this conversation (what "explain it" and "a PDF of it"
    are about)."""
    if _ADMIN_ACTION.search(text) and not (has_attachment or has_values):
        return "question"
    if not (has_attachment or has_values) and _join_request(text):
        return "onboarding"
    for name, pattern in _compiled(_outcomes()):
        if pattern.search(text):
            if (name == "model_info" and not detect_task(text)) or (name == "interpret" and has_values):
                continue  # typed field values (numbers beside field names) are a case to predict, not a score
            if name == "interpret" and _METRIC_NUMBER.search(text) and "%" not in text:
                continue  # "glaucoma AUC 0.9997??", "a cup-to-disc ratio of 0.6": a metric or a measure, not a result
            if name == "interpret" and _REFUSED.search(text):
                continue  # "it wouldn't give a result, just said out of distribution": a refusal, for troubleshooting
            if name in ("explain", "report") and not has_prediction and _HOW_ANYWHERE.search(text):
                return "question"
            if name in _DOC_FIRST and not (has_attachment or has_values) and (
                    (name == "onboarding" and (_LATER_STEP.search(text) or _ABOUT_PROCESS.search(text))) or _SEVERAL_MODELS.search(text)
                    or _HOW_TO.search(text) or _PROBLEM.search(text) or (_ASKING.search(text) and not _asked_to_do(
                        name, text, has_prediction=has_prediction))):
                return "question"
            if name == "predict" and not (has_attachment or has_values or _asked_to_do(
                    name, text, has_prediction=has_prediction) or _requests_prediction(text)):
                return "question"  # about predicting, with no case to predict
            return name
    if has_attachment or has_values:
        return "predict"
    return "question"


_YES = re.compile(r"^\s*(yes|yep|yeah|y|ok|okay|sure|go ahead|please do|do it|create( it)?|confirm(ed)?|correct)\b", re.I)
_NO = re.compile(r"^\s*(no|nope|cancel|stop|abort|never ?mind|not now)\b", re.I)


def is_yes(text: str) -> bool:
    return bool(_YES.search(text))


def is_no(text: str) -> bool:
    return bool(_NO.search(text))
