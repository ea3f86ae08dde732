"""The offline backend end to end: routing to tools, grounded answers with sources, the backend named."""

from __future__ import annotations

import json

import pytest

from assistant.ports import Caller
from assistant.session import render
from tests.assistant.conftest import make_org
from tests.conftest import REPO

EXAMPLES = REPO / "hub" / "models" / "examples"


def test_documentation_question_is_answered_from_the_cited_section(bot):
    answer = bot.session().ask("How do I create an API key?")
    assert answer.intent == "question" and answer.backend == "offline"
    assert answer.sources[0] == {"doc": "rest-api.md", "heading": "Authentication and API keys"}
    assert "POST /v1/keys" in answer.text  # the documentation's own words, not a canned reply
    shown = render(answer)
    assert "Sources: rest-api.md > Authentication and API keys" in shown
    assert "offline backend" in shown


def test_answers_differ_with_the_question(bot):
    s = bot.session()
    a = s.ask("What does epsilon mean in differential privacy?")
    b = s.ask("What does the pay per use tier cost per prediction?")
    assert a.text != b.text
    assert "e^ε" in a.text or "privacy loss" in a.text
    assert "0.002" in b.text


def test_list_models_uses_the_registry_metrics(bot, registry):
    answer = bot.session().ask("Which models are available?")
    assert [c.name for c in answer.tool_calls] == ["list_models"]
    rows = {r["task"]: r for r in answer.tool_calls[0].result["models"]}
    from hub.models import task_names

    assert set(rows) == set(task_names())  # the catalog, not a list in the assistant
    auc = registry.info("pneumonia", "production").metrics["roc_auc"]
    assert rows["pneumonia"]["roc_auc"] == auc
    assert f"{auc:.3f}" in answer.text


def test_predict_from_typed_values_then_explain_then_interpret(bot):
    import csv

    with (EXAMPLES / "breast_cancer" / "malignant_case.csv").open() as fh:
        row = next(csv.DictReader(fh))
    typed = ", ".join(f"{k} {v}" for k, v in row.items() if k not in ("diagnosis", "label"))
    s = bot.session()
    answer = s.ask(f"Please predict breast cancer for these values: {typed}")
    call = answer.tool_calls[0]
    assert call.name == "predict" and call.error is None, call.error
    assert len(call.arguments["inputs"]) == 30
    label = call.result["predictions"][0]["label"]
    assert label == "malignant"
    assert "Not a diagnosis" in answer.text and "you have" not in answer.text.lower()

    why = s.ask("explain it")
    assert why.tool_calls[0].name == "explain" and why.tool_calls[0].error is None
    assert why.tool_calls[0].result["top_factors"]
    assert why.tool_calls[0].result["source"] == "values typed in chat"

    meaning = s.ask("What does this 97% malignant result mean?")
    assert meaning.tool_calls[0].name == "interpret"
    rel = meaning.tool_calls[0].result["reliability"]
    assert rel["sensitivity"] > 0.9 and "sensitivity" in meaning.text


def test_predict_with_an_attached_file_and_with_an_example(bot, tmp_path):
    s = bot.session()
    xray = next((EXAMPLES / "pneumonia").glob("*.png"))
    answer = s.ask("what does the model say about this x-ray?", files=(xray,))
    call = answer.tool_calls[0]
    assert call.name == "predict" and call.result["task"] == "pneumonia"
    assert call.result["source"] == f"attached file {xray.name}"
    ecg = s.ask("try the ecg model on an example")
    assert ecg.tool_calls[0].result["cases"] > 10  # one case per detected beat
    assert ecg.tool_calls[0].result["model_version"] == "v1.0"


def test_tools_cannot_read_files_that_were_not_attached(bot):
    from assistant.tools import run_tool

    s = bot.session()
    result = s.ask("predict pneumonia for this image")  # nothing attached: asks for input, reads nothing
    assert not result.tool_calls or result.tool_calls[0].error
    try:
        run_tool(s.tools, "predict", {"task": "pneumonia", "file": "/etc/passwd"})
    except Exception as exc:  # noqa: BLE001
        assert "attached" in str(exc)
    else:
        raise AssertionError("a path that was not attached was read")


def test_usage_for_a_signed_in_account(bot, store):
    caller = make_org(store, name="Acme Health", role="enterprise", kind="enterprise")
    answer = bot.session(caller).ask("How much of our quota is left this month?")
    call = answer.tool_calls[0]
    assert call.name == "usage" and call.error is None
    assert call.result["limits"]["tier"] == "free" and call.result["limits"]["monthly_quota"] == 100
    assert "remaining" in answer.text


def test_contributions_need_the_hospital_role(bot, store):
    from hub.accounts import billing

    hospital = make_org(store, name="North Hospital", role="data_provider")
    import uuid

    with store.transaction() as s:
        billing.record_contribution(s, org_id=uuid.UUID(hospital.org_id), task="breast_cancer", model_version="v1.1",
                                    samples=412, rounds=3)
    answer = bot.session(hospital).ask("show our contribution history")
    assert answer.tool_calls[0].result["contributions"][0]["samples"] == 412
    assert "412 samples" in answer.text
    enterprise = make_org(store, name="Buyer Inc", role="enterprise", kind="enterprise")
    refused = bot.session(enterprise).ask("show our contribution history")
    assert refused.tool_calls[0].error and "role" in refused.tool_calls[0].error


def test_json_shape_of_an_answer(bot):
    data = bot.session().ask("Which models are available?").to_dict()
    assert set(data) >= {"answer", "sources", "tool_calls", "backend"}
    json.dumps(data)


def test_anonymous_callers_cannot_act_on_accounts(bot):
    answer = bot.session(Caller()).ask("how much of my quota is left?")
    assert answer.tool_calls[0].error and "sign" in answer.tool_calls[0].error


def test_round_status_reads_the_federation_jobs(bot, store, medhive_home):
    """Aggregate job facts only (task, status, rounds, number of hospitals), from the jobs' own files."""
    job = medhive_home / "federation" / "jobs" / "wdbc-demo"
    job.mkdir(parents=True)
    events = [{"time": 0.1, "event": "started", "task": "breast_cancer", "parent": "v1.0", "rounds": 3},
              {"time": 9.0, "event": "fitted", "round": 1, "hospitals": 3},
              {"time": 19.0, "event": "fitted", "round": 2, "hospitals": 3}]
    (job / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    hospital = make_org(store, name="South Hospital", role="data_provider")
    answer = bot.session(hospital).ask("what is the round status for breast cancer?")
    jobs = answer.tool_calls[0].result["jobs"]
    assert jobs[0]["task"] == "breast_cancer" and jobs[0]["status"] == "running"
    assert jobs[0]["rounds_done"] == 2 and jobs[0]["rounds_planned"] == 3 and jobs[0]["hospitals"] == 3
    assert "round 2 of 3" in answer.text
    (job / "outcome.json").write_text(json.dumps({"status": "published", "task": "breast_cancer",
                                                   "published": "v1.1"}))
    again = bot.session(hospital).ask("round status please")
    assert "published v1.1" in again.text


def test_how_accurate_quotes_the_registry(bot, registry):
    answer = bot.session().ask("How accurate is the glaucoma model?")
    assert answer.tool_calls[0].name == "model_info"
    auc = registry.info("glaucoma", "production").metrics["roc_auc"]
    assert f"roc_auc {auc:.3f}" in answer.text
    assert answer.sources and all(s["doc"] in ("model-glaucoma.md", "reading-predictions.md") for s in answer.sources)


def test_tier_answer_lists_all_three_tiers_from_the_database(bot, store):
    from hub.accounts.models import Tier

    with store.transaction() as s:
        s.get(Tier, "free").monthly_quota = 37  # what is enforced, not what a page once said
    answer = bot.session().ask("What are the tiers and their limits?")
    assert [c.name for c in answer.tool_calls] == ["tiers"]
    for row in ("| free | 37 | 10 per minute | none |", "| pay-per-use | none | 120 per minute | EUR 0.002 |",
                "| enterprise | contracted | 600 per minute | EUR 0.001 |"):
        assert row in answer.text, answer.text


def test_a_problem_report_about_predict_is_answered_from_the_documentation(bot):
    answer = bot.session().ask("the pneumonia predict call gives an empty response for our png image")
    assert answer.intent == "question" and not answer.tool_calls  # no "which file should I use?"
    assert answer.sources


def test_a_department_asking_to_take_part_starts_onboarding_a_process_question_is_answered(bot):
    started = bot.session().ask("our radiology unit wants to take part in the pneumonia training")
    assert started.intent == "onboarding"
    for text in ("can our cardiology centre register as a data partner for heart disease?",
                 "we are a renal clinic and would like to share our records with the federation"):
        assert bot.session().ask(text).intent == "onboarding", text
    # sharing data between hospitals is a privacy question, not a request to join
    assert bot.session().ask("can our hospital share data with the other sites directly?").intent == "question"
    answered = bot.session().ask("how long does approval take after our clinic asks to join?")
    assert answered.intent == "question"
    assert any(s["doc"] == "hospital-onboarding.md" for s in answered.sources)


@pytest.mark.parametrize("text", ["what dosage of ibuprofen works for back pain",
                                  "can you suggest a good cardiologist near Lille"])
def test_medical_advice_gets_i_dont_know_and_a_clinician_or_pharmacist(bot, text):
    answer = bot.session().ask(text)
    assert answer.intent == "unknown" and not answer.tool_calls and answer.emergency is None
    assert "can't advise on treatment" in answer.text and "pharmacist" in answer.text
    assert "reading-predictions.md" in answer.text  # still where to look


@pytest.mark.parametrize("text", ["write a bash script that renames my holiday photos",
                                  "which spreadsheet formulas calculate compound interest",
                                  "for our lab's notebooks, jupyter or vscode, which one is better?",
                                  "what's the best password manager for a small clinic",
                                  "compare the pricing of dropbox and onedrive storage for a lab"])
def test_another_domains_question_gets_i_dont_know(bot, text):
    answer = bot.session().ask(text)
    assert answer.intent == "unknown" and not answer.tool_calls
    assert "can't advise" not in answer.text  # not the medical-advice wording


@pytest.mark.parametrize("text", ["can i run medhive on a raspberry pi at our clinic",
                                  "where do I see how many predictions I made",
                                  "for my exam, explain how medhive's federated training keeps data private",
                                  "which port has to be open in the firewall for the connectivity test"])
def test_loosely_worded_documentation_questions_are_still_answered(bot, text):
    answer = bot.session().ask(text)
    assert answer.intent == "question" and answer.sources


@pytest.mark.parametrize("text", ["could you schedule a consultation with a dermatologist for me",
                                  "summarise how glaucoma damages the optic nerve for my pharmacology quiz",
                                  "how do your per-prediction fees compare with google vertex ai pricing?"])
def test_booking_an_appointment_or_comparing_prices_elsewhere_gets_i_dont_know(bot, text):
    answer = bot.session().ask(text)
    assert answer.intent == "unknown" and not answer.tool_calls


def test_an_identifier_abbreviation_is_not_a_foreign_name(kindex):
    """"MRNs", "DOB": a hospital's words for what the documents call record numbers and dates of birth."""
    assert kindex.foreign_names("will the node refuse a file that still has MRNs and DOB in it?") == []
    assert kindex.foreign_names("can it send results into Cerner?") == ["Cerner"]


def test_a_price_question_about_medhive_still_gets_the_tiers(bot):
    answer = bot.session().ask("what is your pricing for a hospital research group?")
    assert answer.intent != "unknown" and (answer.tool_calls or answer.sources)


@pytest.mark.parametrize("text", ["which tier is better for a research group of five?",
                                  "krum or trimmed mean: which one should we use against a bad hospital?"])
def test_comparing_medhives_own_parts_is_not_a_recommendation_elsewhere(bot, text):
    answer = bot.session().ask(text)
    assert answer.intent != "unknown" and (answer.sources or answer.tool_calls)


def test_another_products_account_or_password_is_not_medhives(kindex):
    from assistant.scope import foreign_account

    assert foreign_account("how can I change my spotify password", kindex)
    assert foreign_account("our mailchimp account got locked, what now", kindex)
    assert not foreign_account("how do I change my medhive password", kindex)
    assert not foreign_account("our hospital account shows the wrong tier", kindex)
    assert not foreign_account("I forgot my pasword", kindex)
    assert not foreign_account("where are the api key settings", kindex)


def test_coverage_counts_topic_words_the_knowledge_base_knows(kindex):
    from assistant.scope import content_words, coverage

    assert content_words("ok so what did the thing actually say yesterday") == []  # everyday words carry no topic
    assert coverage("write a bash script that renames my holiday photos", kindex) <= 0.5
    assert coverage("how do i make an acount and see my predicitons", kindex) == 1.0  # typing slips are read
    assert coverage("outlook on my iphone", kindex) == 0.0  # "iphone" is not read as "phone"
    assert coverage("epsilon budget of our node", kindex) == 1.0


def test_a_comparison_with_a_product_the_documents_never_name_is_not_answered_from_them(kindex):
    from assistant.scope import comparison_elsewhere

    assert comparison_elsewhere("is medhive more accurate than babylon or the other triage apps", kindex)
    assert comparison_elsewhere("how do your prices compare with azure health data services", kindex)
    assert not comparison_elsewhere("is v1.1 better than v1.0 for pneumonia", kindex)
    assert not comparison_elsewhere("how does pay-per-use compare with the free tier", kindex)
    assert not comparison_elsewhere("fedprox vs fedavg on skewed hospital data", kindex)
    # like with like: the same documented word on both sides (fresh32)
    assert not comparison_elsewhere("privacy budget 2 vs privacy budget 6, whats the actual diff", kindex)


def test_a_request_for_unrelated_work_is_not_medhives_but_work_on_medhives_things_is(kindex):
    from assistant.scope import work_elsewhere

    assert work_elsewhere("write me a python script that downloads arxiv papers about astrophysics", kindex)
    assert work_elsewhere("could you draft our grant proposal for a new oncology wing", kindex)
    assert work_elsewhere("summarise the citric acid cycle for my pharmacology exam", kindex)
    assert not work_elsewhere("write me a curl call to the predict endpoint", kindex)
    assert not work_elsewhere("make me a summary of my past predictions", kindex)


@pytest.mark.parametrize("text", ["the heart model said low risk so can I stop taking my statins?",
                                  "my mum wants to come off her blood pressure pills since the model said normal"])
def test_changing_ones_own_medicine_because_of_a_model_gets_the_advice_refusal(bot, text):
    bot.router = None  # the rules' path: the learned router may add an emergency notice (safety wins), not checked here
    answer = bot.session().ask(text)
    assert answer.intent == "unknown" and "can't advise on treatment" in answer.text


def test_taking_part_or_stopping_a_node_is_not_a_medicine_question():
    from assistant.safety import medical_advice

    assert not medical_advice("can we stop taking part in the diabetes training for a while")
    assert not medical_advice("can I stop the node over the weekend")


def test_acronyms_and_product_names_the_documents_never_use_are_foreign_but_general_ones_are_not(kindex):
    """"SOC", "Okta", "Helm" name what the documents do not cover; a role, a kind of system or a day ("DPIA",
    "GUI", "EHR", "Friday") does not (`assistant.vocabulary`)."""
    assert kindex.foreign_names("do you have a SOC 2 report and Okta sign-in?") == ["SOC", "Okta"]
    assert kindex.foreign_names("is there a Helm chart for it?") == ["Helm"]
    assert kindex.foreign_names("our DPIA asks whether the GUI or the EHR export leaks anything by Friday") == []
    assert kindex.foreign_names("Dear team, I've a question for Monday") == []
    # a plural of a documented word, and a clinician's shorthand the expansion knows (fresh33)
    assert kindex.foreign_names("batching a folder of PA CXRs and PNGs, any size limit?") == []
    assert kindex.foreign_names("what is the PPV on val, and is an OOD image refused?") == []
    assert kindex.foreign_names("do your PNGs go to Dropbox?") == ["Dropbox"]


@pytest.mark.parametrize("text", [
    "is there a Kubernetes operator for the aggregator?",
    "can it talk to Meditech over HL7 v2?",
    "do you support Okta single sign-on?",
    # the documents name no community channel and no phone line either (fresh30, fresh32)
    "is there a medhive discord server for users",
    "any community forum where I can ask other hospitals how they set it up?",
    "is there a phone number I can ring to talk to someone in support about billing",
])
def test_a_question_naming_a_product_or_a_channel_the_documents_never_mention_is_unknown(bot, text):
    assert bot.session().ask(text).intent == "unknown"


@pytest.mark.parametrize("text", [
    "our DPO wants to know what leaves our network during a round",
    "can I get my kidney result as a PDF to bring to my appointment on Monday?",
    "is there a GUI for the node, our staff dislike the CLI",
])
def test_a_general_acronym_or_a_day_does_not_make_a_documentation_question_unknown(bot, text):
    assert bot.session().ask(text).intent != "unknown"


def test_an_organisations_own_name_and_its_officers_title_are_not_foreign(kindex):
    """"I'm CIO at Lakeside Regional": the writer's organisation and title, not a product the documents omit."""
    assert kindex.foreign_names("Hello, I'm CIO at Lakeside Regional. We want in on the heart training") == []
    assert kindex.foreign_names("we are Brookfield Community Hospital and want to use Epic") == ["Epic"]


def test_an_organisation_named_by_its_own_name_offering_its_data_starts_onboarding(bot):
    answer = bot.session().ask("Hi, I'm CTO at Harbourview Memorial. We want our echo lab data to count toward "
                               "the heart disease model. What's the first step?")
    assert answer.intent == "onboarding"


@pytest.mark.parametrize("text", [
    "who started MedHive, and is it a company or a university project?",
    "does my insurer pay back what I spend on the pay-per-use tier?",
])
def test_the_company_behind_medhive_and_insurers_are_not_in_the_documents(bot, text):
    assert bot.session().ask(text).intent == "unknown"


def test_a_capitalised_word_starting_a_sentence_is_not_a_foreign_name(kindex):
    assert kindex.foreign_names("Ran a CSV of 40 rows. Am I billed for the refused ones?") == []
