"""Intent routing: an organisation asking to take part starts onboarding, even when phrased as a question."""

from __future__ import annotations

import pytest

from assistant.intents import route


@pytest.mark.parametrize("text", [
    "can we connect our hospital to the federation for the diabetes model?",
    "we want to take part in the glaucoma training. How do we sign up?",
    "Hi, I'm the research coordinator at a small eye clinic. We have ~2000 fundus photos and want to take part "
    "in the glaucoma training",
    "we'd be interested in joining the federated training with our radiology department",
    "can our clinic contribute to the pneumonia model?",
    "how do we join the federation as a hospital?",
    # a long introduction before the wish, in one sentence
    "we are a mid-sized teaching hospital in the north of Portugal with a large ECG archive and would like to "
    "contribute to your training",
])
def test_a_request_to_take_part_starts_onboarding(text):
    assert route(text) == "onboarding"


@pytest.mark.parametrize("text", [
    "got our enrollment token from the admin, what's the exact command to enrol the node and start it",
    "we have the token, which command enrols our node?",
    "what legal basis do we need under GDPR to take part",
    "how do I check our files are ok before joining",
    "our node is not joining the training rounds",
    "how do I approve a hospital's request to join",
    "I have one patient with bloods, BP and age. Can I run every model at once instead of filling 5 forms?",
    "run all the models together on one case",
    "new enrollment token for a clinic - where?",
    "connect another hospital node, how?",
    # the wish in another sentence than the organisation's introduction is not one long request
    "We are a cardiology clinic. I want to know how the privacy budget works.",
])
def test_questions_about_a_later_step_or_a_problem_go_to_the_documentation(text):
    assert route(text) == "question"


@pytest.mark.parametrize("text", [
    "our cardiology department would like to join the ECG training",
    "we run a small diabetes unit with 800 patient records and we would love to take part",
    "I'd like to onboard our neurology ward so it can contribute voice recordings to the parkinsons model",
])
def test_a_department_or_unit_asking_to_take_part_starts_onboarding(text):
    assert route(text) == "onboarding"


@pytest.mark.parametrize("text", [
    "how long does it take for a new clinic to be approved to join?",
    "what is the process for our hospital to join the pneumonia federation?",
    "which steps does our clinic go through to join, and who approves it?",
])
def test_a_question_about_the_joining_process_is_answered_not_started(text):
    assert route(text) == "question"


@pytest.mark.parametrize("text", [
    "our pathology lab would love to get in on the breast cancer training, what's the process for signing up?",
    "could our hospital take part in the kidney disease model",
    "may a tiny rural practice like ours also join the training?",
    "we are four community clinics keen to become part of the diabetes federation",
])
def test_a_stated_wish_to_take_part_starts_onboarding_even_with_a_question_about_the_process(text):
    assert route(text) == "onboarding"


@pytest.mark.parametrize("text", [
    "Northfield General Hospital would like to become one of the sites in your kidney disease federation",
    "the trust board approved taking part in the federated training, please sign our hospital up",
    "we are a rural clinic, interested in partnering with you as a training site for diabetes",
    "how should our laboratory go about joining the pneumonia federation?",
    "our pathology department would like its slides data to feed into the breast cancer model, can you start that?",
    "Committee said yes. Please register Dr. Ames Memorial Hospital for the ecg federation, contact ops@ames.example",
    "a group of 3 clinics here, we would love to help improve the heart disease model",
    "our trust's governance board signed off on taking part in the glaucoma training. what are the next steps?",
    "could our practice be one of the sites training the diabetes model?",
])
def test_an_organisation_named_as_the_one_who_wishes_or_an_order_to_register_starts_onboarding(text):
    assert route(text) == "onboarding"


@pytest.mark.parametrize("text", [
    "how do we add our hospital's second node",
    "what does participating involve for our hospital?",
    "the hospital wants to know where its data is stored",
    "network team asks: can our hospital node connect through a proxy, or only directly?",
    "security review: does the superlink connect inbound to our clinic's node, which port?",
])
def test_a_question_about_an_organisation_is_not_a_request_to_join(text):
    assert route(text) == "question"


@pytest.mark.parametrize("text", [
    "we have 800 chest films read as pneumonia or not. may our radiology department take part in the training?",
    "our cardiology unit holds ECGs annotated arrhythmia / not - could we take part in the ecg federation",
])
def test_not_between_two_alternatives_is_no_problem_report(text):
    assert route(text) == "onboarding"


def test_a_join_with_a_problem_report_still_goes_to_the_documentation():
    assert route("we joined last week but our node is not taking part in the training, how do we join rounds") == "question"


def test_a_person_registering_as_a_clinician_is_not_an_organisation_joining():
    assert route("what changes if I register as a clinician instead of a normal user") == "question"


@pytest.mark.parametrize("text", [
    "the glaucoma predict endpoint gives us a 500 since this morning",
    "ecg predict says 'no beats detected' for our holter file",
    "Our ward would like to score all incoming ECGs with the ecg model overnight. Is that what it is for?",
    "heart_disease predict keeps answering missing feature for thalach values",
])
def test_a_message_about_prediction_with_no_case_is_a_question(text):
    assert route(text) == "question"


@pytest.mark.parametrize("text", [
    "run the glaucoma model on the example",
    "analyse my x-ray with the pneumonia model",
    "please classify this ecg record",
    "could you check my fundus photo with the glaucoma model",
])
def test_an_imperative_request_to_predict_still_predicts(text):
    assert route(text) == "predict"


def test_a_case_makes_any_wording_a_prediction():
    # the same sentence that is a question without a case is a prediction with an attached file
    text = "We'd like to run the glaucoma model on this photo. Is it meant for that?"
    assert route(text) == "question"
    assert route(text, has_attachment=True) == "predict"


@pytest.mark.parametrize("text", ["is the portal free or do patients have to pay?",
                                  "will we have to pay for the api once the trial ends"])
def test_asking_whether_one_has_to_pay_is_about_the_tiers(text):
    assert route(text) == "tiers"


@pytest.mark.parametrize("text", [
    "we're a cardiology unit in Porto, can we put our patients' records into the heart disease training?",
    "our lab would like to lend its fundus images to the glaucoma federation, how does that work?",
    "Hi, we are a practice in Ghent. We want to offer our diabetes cases for the diabetes model training without "
    "sending them anywhere. What is the procedure?",
])
def test_offering_an_organisations_data_to_a_training_starts_onboarding(text):
    assert route(text) == "onboarding"


@pytest.mark.parametrize("text", [
    "After enrolling the node, where are its keys stored?",
    "Once the hospital is connected, where does the node keep its logs?",
])
def test_a_where_question_after_a_leading_clause_is_for_the_documentation(text):
    assert route(text) == "question"


@pytest.mark.parametrize("text", [
    "the ecg model's AUC 0.95 for N beats, isn't that suspicious?",
    "pneumonia sensitivity of 0.89, how was that measured?",
    "my pressure reading and an IOP of 21 - does the glaucoma model use that?",
    "where does the ecg model's 0.95 accuracy come from?",  # the number first (fresh33)
])
def test_a_metric_or_a_measure_quoted_with_its_number_is_not_a_result_to_interpret(text):
    assert route(text) != "interpret"


def test_a_score_quoted_as_a_result_is_still_interpreted():
    assert route("the pneumonia model gave 82% pneumonia, what does that mean?") == "interpret"


@pytest.mark.parametrize("text", [
    "I want to score 20 cases from a CSV but it errors out on the header",
    "tried to run the ecg model on my export and it crashes",
])
def test_a_prediction_request_that_reports_a_problem_is_for_the_documentation(text):
    assert route(text) == "question"


def test_a_hospital_that_already_contributed_asking_about_its_share_is_a_question():
    assert route("How is our clinic's revenue share computed? We contributed 800 images last quarter.") != "onboarding"


@pytest.mark.parametrize("text", [
    "what does 'temperature 0.71' on the ecg model card mean?",
    "the glaucoma space wouldn't give a result, it said out of distribution, what does that mean?",
    "my x-ray was refused, what does that mean?",
])
def test_a_calibration_temperature_or_a_refusal_is_not_a_result_to_interpret(text):
    assert route(text) != "interpret"


@pytest.mark.parametrize("text", [
    "the explanation in the PDF report: how do I read the red and blue bars?",
    "key factors on the results page - how should we present them to a patient?",
])
def test_a_how_to_about_explanations_or_reports_with_no_prediction_made_is_for_the_documentation(text):
    assert route(text) == "question"
    assert route("explain the key factors of that result", has_prediction=True) == "explain"


def test_something_said_of_the_models_is_not_a_request_to_list_them():
    assert route("How the models are signed, and by whom?") == "question"  # fresh31's wording, in other words
    assert route("which models are there?") == "list_models"
