"""Safety: emergencies first, no diagnosis wording, symptom questions get guidance, identifiers removed.

- `emergency(text)` recognises emergency symptoms (chest pain, stroke signs, severe breathing trouble,
  unconsciousness, severe bleeding, anaphylaxis, overdose, self-harm); the reply then starts with
  `EMERGENCY_NOTICE`, before anything else.
- `medical_advice(text)` recognises requests for individual medical advice (a treatment, a dose, a clinician
  to see) that are not about MedHive: no backend gives it; the offline one says so and where to look.
- `symptom_question(text)` recognises "I have X, do I have Y?" questions: they get guidance and the
  relevant model, never a verdict.
- `guard(text)` rewrites wording that presents a model output as a diagnosis ("you have pneumonia",
  "the diagnosis is") and adds the not-a-diagnosis line to any answer that talks about a prediction.
- `redact(text)` removes identifiers (e-mail addresses, phone numbers, dates, record / insurance
  numbers, "my name is ...") from what the assistant keeps in memory or sends to a language model.
"""

from __future__ import annotations

import functools
import re
from typing import Any

NOT_A_DIAGNOSIS = "Not a diagnosis: for use under clinical review."
EMERGENCY_NOTICE = (
    "**If this is happening now, call your local emergency number immediately** (112 in the EU, 911 in the "
    "US and Canada, 999 in the UK, 000 in Australia) or go to the nearest emergency department. Do not wait "
    "for a model or for this assistant."
)

# Families of red-flag wording, in a patient's words as much as a clinician's (the emergency section of
# knowledge/symptoms-and-emergencies.md lists the same families). A false alarm costs one paragraph, a missed
# emergency can cost a life: only a question about what the system detects that names no person (below) is
# let through.
_WHO = r"(my|his|her|their|the|our)"
_MEDICINES = (r"(pills|pill ?box(es)?|pill bottles?|tablets|capsules|meds|medicines?|medications?|drugs|paracetamol|acetaminophen|tylenol|"
              r"ibuprofen|aspirin|insulin|opioids?|sleeping)\b")
# someone other than the writer, in the words people use for them
_OTHERS = (r"he|she|him|her|he'?s|she'?s|someone|somebody|friend|child|kid|son|daughter|baby|toddler|mum|mom|mother|"
           r"dad|father|husband|wife|partner|brother|sister|grand\w+|nan|nana|nanna|gran|granny|aunt|auntie|uncle|cousin|"
           r"neighbou?r|roommate|flatmate|colleague|coworker|patient|pt(?! ?\d)")
# the same, and anyone a bystander may write about ("the man on the bus"): who a "they are fitting" can be
_SOMEONE = _OTHERS + r"|they|them|man|woman|person|boy|girl"
_EMERGENCY = [
    # one side of the body gone numb or weak, or sight doubled: "my left side has gone numb and the screen looks doubled"
    ("stroke signs", r"\b(left|right|one) side( of (my|his|her|their) (body|face))?\b.{0,15}\b(gone |went |is |feels |has gone )?(numb|dead|weak|floppy)\b|"
                     r"\b(double vision|seeing double|(looks|look|is|went|gone) doubled?)\b.{0,40}\b(numb|weak|slurr\w*|droop\w*|started|suddenly)\b|"
                     r"\b(numb|weak)\b.{0,40}\b(double vision|seeing double|looks doubled)\b"),
    ("chest pain", r"\b(chest|heart)\s+(pain|pressure|tightness|hurts?|is hurting|aches?|feels? (tight|heavy|crushed))|"
                   r"\b(strong|bad|severe|big|terrible) pain in (the )?chest\b|"
                   r"\bchest\s+(has|have|had|keeps?|kept|started)\s+(been\s+)?(hurt|hurting|aching)|"
                   r"\btight(ness)?\s+(in\s+" + _WHO + r"\s+)?chest|crushing (pain|chest)|pain in " + _WHO + r" chest|"
                   r"\bchest\b.{0,20}\b(squeez|crush)|\b(pressure|weight|elephant)\b.{0,20}\bon " + _WHO + r" chest|"
                   r"\bpain\b.{0,30}\b(down|into|in) " + _WHO + r" (left )?(arm|jaw)|\bclutch\w*\b.{0,10}\b(chest|heart)\b|"
                   # "my chest has felt heavy and tight for an hour, it goes into my left arm and I'm sweating"
                   r"\bchest\b.{0,25}\b(heavy|tight)\b.{0,60}\b(arm|jaw|sweat\w*|clammy)\b|"
                   r"\b(goes|going|spreads?|spreading|radiat\w*|moves?|moving) (in)?to " + _WHO + r" (left )?(arm|jaw)\b|"
                   # a sensation named before the chest: "a heavy squeezing feeling in my chest", "pressure across his chest"
                   r"\b(crush\w*|squeez\w*|press(ing|ure)|heav(y|iness)|tight\w*|burning|stabbing|sharp)\b.{0,25}"
                   r"\b(in|on|across|around|behind|through) " + _WHO + r" (chest|breastbone|sternum)\b"
                   r"(?![- ]*(x[- ]?rays?|films?|scans?|ct|radiograph\w*|images?|pictures?|model|federation|data))"),
    # a weight on the chest: "feels like someone is sitting on my chest", "an elephant on his chest"
    # (fresh36: "coworker at next desk just grabbed his chest and slumped over")
    ("chest pain", r"\b(grabbed|grabbing|clutched|clutching|clasped|clasping) (at )?(my|his|her|their) chest\b"
                   r"(?![- ]?(x-?rays?|xrays?|cxrs?|scans?|films?|images?|ct|mri|reports?|results?|drains?)\b)|"
                   r"\b(sitting|standing|elephant|weight|something heavy)\b.{0,15}\b(on|across) (my|his|her|their) chest\b|"
                   r"\bchest\b.{0,20}\bfeels? like\b.{0,25}\b(sitting|standing|crushing|squeezing|weight|elephant)\b"),
    # the look of shock or a heart attack, as a bystander describes it
    ("shock", r"\b(grey|gray|ashen|pale|clammy|cold)\b\s*(and|,|&)\s*(sweaty|sweating|clammy|cold)\b|"
              r"\b(bp|blood pressure)\b.{0,10}\b(dropping|falling|crashing|plummeting|tanking)\b|"
              # a low blood pressure with a racing pulse, clamminess or drowsiness: "now BP 70/40, HR 140, clammy and drowsy"
              r"\b(bp|blood pressure)\b\D{0,6}\b([4-8]\d) ?/ ?([1-5]\d)\b.{0,40}\b(hr 1[2-9]\d|pulse 1[2-9]\d|clammy|drowsy|confused|"
              r"faint\w*|grey|gray)\b|"
              r"\b(sweaty|sweating|clammy)\b\s*(and|,|&)\s*(grey|gray|ashen)\b"),
    # (fresh35: "ST elevation on the monitor and BP dropping")
    ("heart attack", r"\bheart attack\b|\bcardiac arrest\b|\bst[- ]elevation\b|\bstemi\b"),
    ("stroke signs", r"\bstroke\b|\bface\b.{0,25}\bdroop|\bdroop(y|ing)\b|\bslurr(ed|ing)\b|\btalking (funny|strange|gibberish)|"
                     r"one side of " + _WHO + r" (body|face)|\b(arm|leg)s?\b.{0,20}\b(numb|weak|limp|paraly)|"
                     r"\b(can'?t|cannot|can not|unable to) (lift|raise|move|feel) " + _WHO + r" ((right|left) )?(arm|leg|hand|side)|"
                     r"\b(talk|talks|talking|speaks?|speaking)\b.{0,12}\b(gibberish|nonsense)\b|"
                     r"\bsudden(ly)?\b.{0,40}\b(can'?t|cannot) (see|speak|talk)|\b(words|speech)\b.{0,25}\b(jumbled|garbled|wrong|mixed up|funny|weird)|"
                     r"\bworst headache\b|\b(can'?t|cannot) (smile|speak|talk) (properly|straight|right)|"
                     r"\bsudden(ly)?\b.{0,40}\b(can'?t|cannot) see|\bsudden(ly)?\b.{0,30}\b(vision loss|lost " + _WHO + r"? ?vision|blind)"),
    ("breathing", r"(can'?t|cannot|can not|unable to|struggling to|hard to|trouble|barely) breath|short(ness)? of breath|"
                  r"\b(can'?t|cannot) (catch|get) " + _WHO + r" breath|\bgasping\b|struggling for (air|breath)|"
                  r"choking|\b(can'?t|cannot) get (any )?air|\bturning (blue|purple|grey|gray)\b|\bgasp(ing)? for (air|breath)|"
                  r"\blips?\b.{0,20}\b(blue|bluish|purple|grey|gray)|\b(blue|bluish|purple|grey|gray)\b.{0,12}\b(around|round|on) (the|his|her|their) (lips|mouth)\b|"
                  # ward shorthand: "sudden SOB, sats 84% on air" (a saturation under 90% is an emergency)
                  r"\b(can'?t|cannot|can not|unable to) (finish|complete|get out) (a|his|her|my|their) (sentence|words?)\b|"
                  r"\binhaler\b.{0,20}\b(isn'?t|is not|not|doesn'?t|does not|hasn'?t) (doing anything|working|helping|help)\b|"
                  # a child's chest drawn in: "the skin between her ribs sucks in every breath"
                  r"\b(skin|chest|tummy)\b.{0,30}\b(between|under|below) (her|his|the|their) ribs\b.{0,20}\b(suck\w*|pull\w*|sink\w*|draw\w*)\b|"
                  r"\bribs?\b.{0,15}\b(sucking|pulling|sucks|pulls|sinking|sink) in\b|"
                  r"\bsudden(ly)?\b.{0,10}\bsob\b|\b(sats?|spo2|sp ?o2|o2 sats?|oxygen (saturation|sats?|level))\b\D{0,12}\b[4-8]\d ?%"),
    ("unconscious", r"\b(unconscious|unresponsive|passed out|fainted|collaps(ed|es|ing)|blacked out|not breathing|"
                    r"stopped breathing|seizure|seiz(ing|ed|es)\b|convuls|having a fit\b|(shaking|jerking|twitching|thrashing) (all over|uncontrollably|violently)|"
                    r"eyes?\b.{0,10}\b(rolled|rolling) (back|up)|(?<!\bi )(won'?t|will not|can'?t|doesn'?t|does not|not|isn'?t|is not) "
                    r"(really |properly )?(wak(e|ing)|breathing)|no (pulse|heartbeat)|lifeless)"),
    # someone on the floor jerking, shaking or twitching ("a coworker is on the floor jerking and has been for
    # five minutes"): a seizure told by what it looks like
    ("unconscious", r"\bon the (floor|ground|carpet|pavement)\b.{0,15}\b(jerk|shak|twitch|thrash|convuls)\w*|"
                    r"\b(jerking|shaking|twitching|thrashing|convulsing) on the (floor|ground|carpet|pavement)\b|"
                    r"\b(" + _SOMEONE + r")\b.{0,30}\b(jerking|shaking|twitching|thrashing)\b.{0,40}\b(for|over) (more than |over |about )?"
                    r"(\d+|two|three|four|five|ten|several) (minutes?|mins?)\b"),
    # "my son is fitting", "she's been fitting for 7 minutes" (a person, not a model being fitted)
    ("unconscious", r"\b(" + _SOMEONE + r")\b( \([^)]{0,20}\))?('s| is| was| has been| keeps| started| began)( \w+)? "
                    r"fitting\b"),
    # fitting for minutes, someone named anywhere ("a woman across from me has been fitting for about 6 minutes"); a model
    # being fitted names nobody (`_NEEDS_PERSON`)
    ("seizure", r"\b(fitting|seizing|convulsing|jerking|shaking|twitching)\b.{0,12}\bfor (about |over |more than |almost |nearly )?"
                r"(\d+|two|three|four|five|six|seven|eight|ten|several) (minutes?|mins?|min)\b"),
    # an infant who is floppy, hard to wake or will not feed
    ("unwell baby", r"\b(baby|babies|infant|newborn|toddler)\b.{0,20}\b(going|gone|turning|turned) (blue|purple|grey|gray)\b|"
                    r"\b(baby|babies|infant|newborn|\d{1,2}[- ]?(weeks?|wks?|months?)[- ]old)\b.{0,60}\b(floppy|limp|listless|"
                    r"(hard|difficult) to wake|won'?t (wake|feed|take (a |her |his )?feeds?)|not (feeding|waking)|refus\w* (feeds?|to feed)|"
                    r"weak,? (high[- ]pitched |whimpery )?cry)\b|"
                    # a fever under three months of age
                    r"\b(newborn|([1-9]|1[0-2]) ?(weeks?|wks?)[- ]?old|([12]|one|two) ?months?[- ]?old|(baby|she|he) is "
                    r"([1-9]|1[0-2]) (weeks?|wks?))\b.{0,60}\b(fever\w*|temp(erature)?\b.{0,12}\b(3[89]|4\d)|3[89](\.\d)? ?(°|c\b|degrees)|"
                    r"(3[89]|4[01])\.\d\b)"),
    # "not responding", "not moving", "fell over and won't ..." say as much of a server as of a person: an
    # emergency only when someone else is named (below: the writer of the message is not the one unresponsive)
    ("unresponsive", r"\b(won'?t|will not|doesn'?t|does not|not|isn'?t|is not|stopped) (really |properly )?(respond(ing)?|moving|reacting)\b|"
                     r"\b((on|to) the (floor|ground)|collapsed|went down|dropped|fell)\b.{0,40}\b(not|isn'?t|won'?t|wont|isnt|doesn'?t) "
                     r"(answer|answering|talk|talking|speak|speaking|respond|responding)\b|"
                     # "she just went down and isnt really waking up, her breathing sounds weird"
                     r"\b(isn'?t|isnt|is not|not|won'?t|wont) (really |properly |fully )?waking up\b|\b(can|could) (barely|hardly) wake (him|her|them)\b|"
                     r"\bbreathing (sounds|is|seems|looks) (weird|strange|funny|odd|noisy|rattl\w*|gurgl\w*|wrong)\b|"
                     r"\b(fell|fall|falls|fallen) (down|over)\b.{0,30}\b(not|won'?t|can'?t|doesn'?t)\b"),
    ("bleeding", r"(severe|heavy|uncontrolled|a lot of|massive|profuse)\s+bleeding|"
                 # towels or pads gone through: "gone through 3 towels and im getting dizzy", after a birth "soaking a pad
                 # every 15 min and getting lightheaded"
                 r"\b(gone|went|bled|soaked) through (\d+|two|three|four|several|a few) (towels|tea towels|bandages|pads|cloths)\b(?! of)|"
                 r"\b(soak\w*|fill\w*|through) (a|one) (maternity )?pad (every|an|in|each)\b|"
                 # pressure that does not stop it: "its not stopping even with a towel on it"
                 r"\b(not|isn'?t|isnt|won'?t|wont) stop(ping)?\b.{0,25}\b(towel|pressure|bandage|cloth|tea ?towel|plaster)\b|"
                 r"bleeding\b.{0,32}\b(heavily|badly|profusely|a lot|so much|like crazy|won'?t stop|will not stop|"
                 r"doesn'?t stop|does not stop|isn'?t stopping|is not stopping|keeps? going|non[- ]?stop)|"
                 r"\b(won'?t|will not|can'?t|cannot|can not|doesn'?t|does not|unable to)( get (it|the bleeding|this) to)? "
                 r"stop(ping)? (the )?bleed|\bstill bleeding\b|\bbleed(ing)? (out|to death)\b|"
                 r"\bblood\b.{0,25}\b(pouring|gushing|spurting|squirting|everywhere|won'?t stop|keeps? (coming|flowing)|"
                 r"all over)|\b(spurting|gushing|pouring|squirting)\b.{0,15}\bblood|"
                 r"\b(lots of|a lot of|loads of|so much|tons of|pool of) blood\b|\blost (a lot of |so much )?blood\b|"
                 r"\b(soaked|soaking|bled) (through|right through)\b|\b(towels?|bandages?|cloths?|shirt)\b.{0,25}\bsoaked|"
                 r"(coughing|vomiting|throwing|spitting) up blood"),
    ("anaphylaxis", r"anaphyla|allergic reaction|\b(flushed|wheezy|wheezing|hives|rash)\b.{0,60}\b(bp|blood pressure)\b.{0,20}"
                    r"\b(dropped|falling|fell|low|[4-8]\d ?/ ?\d{2})\b|\bthroat\b.{0,25}\b(swell|clos|tight)|"
                    r"\b(tongue|lips?|face|throat)\b.{0,15}\b(swell|swollen|puff(s|ed|ing)? up)|swollen (tongue|throat|face)"),
    ("overdose or poisoning", r"\boverdos(?!\w*\s+(of|on)\s+(\w+\s+)?(api|calls?|requests?|traffic|data|e-?mails?|notifications?|"
                              r"meetings?|information|info|content|jargon|acronyms?)\b)"
                              # (emerg9: "our trust's overdose audit data", "our batch job overdosed the rate limit")
                              r"(?!\w*\s+(audit|data|statistics|rates?|research|stud(y|ies)|admissions|attendances|register|"
                              r"data ?sets?|figures|trends)\b)(?!\w*\s+(the|our|its|their|my)\s+(\w+\s+)?(limits?|quotas?|rate|"
                              r"api|budget|endpoint|server|cpu|memory)\b)|"
                              r"(?<!data )(?<!model )\bpoison(?!\w*\s+(information|info|centre|center|unit|service|helpline)\b)"
                              r"(?!\w*\s+((the|a|an|our|their|your|its|this|that|other)\s+)?(\w+\s+)?(data|models?|weights|updates?|"
                              r"attacks?|gradients?|labels?|rows|records|samples|federation|training|aggregat\w*|rounds?|global|results?|metrics?|outputs?|"
                              r"predictions?|scores?|well)\b)|\b(swallowed|took|taken|ate|drank)\b.{0,30}\b(pills|tablets|bottle|bleach)|"
                              r"too many (pills|tablets|sleeping|of (my|his|her|their|the))|\btook too many\b|"
                              r"\b(took|swallowed|taken|ate)\b.{0,20}\b(handful|whole (packet|box|strip|pack))|"
                              # a number or a lot of a medicine taken at once; a child who got into someone's medicines
                              r"\b(took|swallowed|taken|ate|drank|injected|injecting)\b.{0,25}\b(\d{2,}|a lot of|lots of|loads of|a load of|"
                              r"a handful of|a bunch of|the whole|all (of )?(her|his|my|the|their))\b.{0,20}\b" + _MEDICINES + r"|"
                              r"\b(got|gotten|get|getting) into\b.{0,30}\b" + _MEDICINES + r"|"
                              # fresh33: "my toddler got into my handbag and I think she swallowed some of my paracetamol"
                              r"\b(child|kid|son|daughter|baby|toddler|boy|girl)\b.{0,60}\b(swallowed|ate|eaten|drank|drunk|chewed)\b"
                              r".{0,30}\b" + _MEDICINES + r"|"
                              # a number of tablets and "already done it": "what if u take like 40 ibuprofen. already done it"
                              r"\b(\d{2,}|a whole (box|pack|packet|bottle))\b.{0,15}\b" + _MEDICINES + r".{0,60}\b(already (done|did|taken|took) "
                              r"(it|them)|(an?|one|two|\d+|few|couple of) (minutes?|mins?|hours?) ago)|"
                              # everything in a medicine store taken: "took everything in the cupboard"
                              # (not carried off: "took everything in the cupboard to the charity shop")
                              r"\b(took|swallowed|taken)\b.{0,8}\b(everything|all of it|the lot|whatever was)\b (in|from) "
                              r"((the|my|our|his|her|their|\w+'s) )?((medicine|bathroom|pill|first[- ]aid) )?(cupboard|cabinet|drawer|box|kit)\b"
                              r"(?!.{0,4}\b(to|into|out|away|off|over|down|up|apart|back|home|for)\b|"
                              r"\s*,? and (put|clean|sort|mov|threw|thrown|pack|gave|tid|wash|dust|bin|stack|label|list))|"
                              # a button battery or magnets swallowed: harm within hours even while the child seems well
                              r"\b(swallowed|ate|eaten|gulped)\b.{0,45}\b(batter(y|ies)|magnets?)\b|"
                              # a household chemical swallowed: "drank from the wrong bottle, it was the descaler"
                              r"\b(drank|drunk|swallowed|ate|took a (sip|swig|gulp)|bit (into|on)|bitten|chewed|chewing|"
                              r"sucked|sucking|licked)\b.{0,30}\b(wrong bottle|bleach|descaler|"
                              r"cleaner|detergent|antifreeze|weed ?killer|drain|lye|caustic|chemical|battery|pesticide|"
                              r"white spirit|petrol|paraffin|lamp oil|dishwasher|washing (pod|tablet|liquid)|(laundry|detergent|liquid) (pod|capsule|tablet)s?)"),
    # carbon monoxide: headaches, dizziness or drowsiness, in several people or after a heater, boiler or engine is on
    ("carbon monoxide", r"\bcarbon monoxide\b|\bco (alarm|detector|poisoning)\b|"
                        r"\b(gas (heater|fire|boiler|stove|cooker)|boiler|generator|fumes|exhaust|paraffin heater)\b.{0,80}"
                        r"\b(headaches?|dizzy|dizziness|drowsy|hard to wake|faint(ed|ing)?|confused|passed out|nause\w*)\b|"
                        r"\b(headaches?|dizzy|dizziness|drowsy|nause\w*)\b.{0,80}\b(gas (heater|fire|boiler|stove|cooker)|boiler|"
                        r"generator|fumes|exhaust)\b"),
    # a diabetic emergency: ketoacidosis's deep fast breathing and fruity breath, or a hypo that does not come round
    ("diabetic emergency", r"\bbreath\b.{0,20}\b(smells?|smelling)\b.{0,20}\b(fruity|sweet|like (nail polish|acetone|pear drops))|"
                           r"\b(type ?1|diabet\w*|sugars?|vomit\w*|throwing up|thrown up|threw up)\b.{0,80}\b(breathing|breaths?|"
                           r"breathes) (really |very |so )?(deep and fast|fast and deep)\b|"
                           r"\bketoacidosis\b|\bdka\b|"
                           # "diabetic, gone pale and shaky and isn't making sense", "diabetic, confused ... can barely wake him"
                           r"\b(diabetic|type ?1|type one|t1d)\b(?! (model|data|dataset|form|task|one|api|predictions?|page|space)\b).{0,80}\b((isn'?t|not|stopped) making (any )?sense|(talking|mumbling|speaking) nonsense|(can|could) (barely|hardly) wake|"
                           r"(can'?t|cant|cannot|couldn'?t) (really |properly )?wake|"
                           r"confused\b.{0,40}\b(sweat\w*|shak\w*|pale|clammy|drowsy))\b|"
                           # a hypo: a low reading (mmol/L under 3, mg/dL under 54) or the word, with confusion or sweating
                           r"\b(sugar|glucose|bg|meter|reading|bm|hypo)\b.{0,25}(?<![\d.])([0-2](\.\d)?|[1-4]\d|5[0-3])(?![\d.])"
                           r"(?!\s*(%|years?|y/?o|units?|weeks?|days?))\b.{0,60}\b(confused|sweaty|sweating|shaking|drowsy|"
                           r"slurr\w*|unresponsive|won'?t wake|can'?t (hold|swallow|stand|talk)|aggressive|fitting)\b|"
                           r"\bhypo\b.{0,60}\b(confused|unresponsive|won'?t wake|can'?t (swallow|wake)|passed out|fitting|seiz\w*)\b|"
                           r"\b(diabet\w*|type ?1|insulin)\b.{0,60}\b(shaking|shaky|sweaty|sweating|pale)\b.{0,40}\b(confused|"
                           r"can (barely|hardly) (talk|speak|stand)|drowsy|slurr\w*)\b|\b(sugar|glucose|bg)\b.{0,20}\b(won'?t come up|is (really |very )?low and "
                           r"(she|he|they) (is|are|won'?t))"),
    # about to faint with a racing heart, or the feeling itself said outright
    ("near fainting", r"\b(about to|going to|gonna) (pass out|faint|black out|collapse)\b(?!\s+(the|a|an|some|copies|flyers|papers))|"
                      r"\b(heart|pulse|heart ?rate|hr)\b.{0,25}\b(1[6-9]\d|2\d\d)\b.{0,60}\b(dizz\w*|faint\w*|pass(ing)? out|"
                      r"chest|breath\w*|pounding)"),
    # pregnancy's red flags: a severe headache or flashing lights (pre-eclampsia), bleeding, severe pain, waters
    # breaking early, a baby that stopped moving
    ("pregnancy emergency", r"\b(pregnant|pregnancy|\d{1,2}[- ]?(weeks?|wks?) (pregnant|along|gestation)|expecting a baby)\b"
                            r".{0,120}\b((severe|bad|worst|splitting|terrible|pounding) headache|flashing lights|blurr(ed|y) vision|"
                            r"seeing (spots|stars|flashes)|bleeding|(a lot of|lots of|so much|bright red|heavy) blood|(severe|bad|sharp) (tummy|abdominal|belly|stomach) pain|"
                            r"waters? (broke|broken|have broken)|(baby|babies) (is |are )?(not moving|moving less|stopped moving)|"
                            r"(bp|blood pressure) (of )?(1[6-9]\d|2\d\d) ?/ ?\d{2,3}|having (a )?fits?|seizures?|convuls\w*)"),
    # sepsis as a relative sees it: confusion with fever or fast breathing, mottled or purple skin
    ("sepsis signs", r"\bsepsis\b|\bseptic shock\b|\b(mottled|blotchy)\b.{0,30}\b(purple|blue|grey|gray|skin|knees|legs|arms)\b|"
                     r"\brash\b.{0,25}\b(doesn'?t|does not|won'?t|will not) fade\b|"
                     # spots that do not fade under a pressed glass (a non-blanching rash)
                     r"\b(spots|rash|marks|blotches|dots)\b.{0,40}\b((don'?t|dont|doesn'?t|do not|does not|won'?t|will not) "
                     r"(fade|go away|disappear|go pale)|(are |is )?still (there|visible|showing))\b.{0,40}\b(glass|tumbler)\b|"
                     r"\b(spots|rash|marks|blotches|dots)\b.{0,80}\b(glass|tumbler)\b.{0,40}\b(don'?t|dont|doesn'?t|do not|does not|"
                     r"won'?t|will not|didn'?t|did not|still)( \w+)? (fade|go away|disappear|go pale|blanch|there|visible)\b"),
    # confusion with fever or fast breathing in someone else ("I'm so confused, does a fever change ..." is not)
    ("confusion with fever", r"\b(really|very|so|suddenly|getting|gets|got|is|she'?s|he'?s|shes|hes|seems?|became|more) confused\b.{0,60}"
                     r"\b(burning (up|hot)|fever\w*|high temperature|(breathing|breathes) (really |very |so )?fast)\b|"
                     r"\b(burning (up|hot)|a fever|feverish|high temperature)\b.{0,60}\b(really|very|so|suddenly|getting|is|and|now) "
                     r"confused\b"),
    # a large or deep burn: white, charred or blistering skin over a big area, or one that no longer hurts
    ("severe burn", r"\b(hot oil|boiling (water|oil)|scald\w*|burn(ed|t|s)?|fire|flames?|chip pan)\b.{0,60}\b(blister\w*|"
                    r"charred|leathery|white and|big area|large area|whole (arm|leg|side|back|chest|face))\b|"
                    r"\b(blister\w*|charred|burn\w*)\b.{0,40}\b(doesn'?t|does not|dont|don't) (even )?hurt"),
    # a head injury with confusion, vomiting or drowsiness after it
    ("head injury", r"\b(hit|banged|bumped|knocked|fell|fall|fallen|injur\w*|smacked|cracked)\b.{0,30}\bhead\b.{0,80}"
                    r"\b(vomit\w*|threw up|thrown up|throwing up|being sick|been sick|confused|drowsy|sleepy|falling asleep|"
                    r"nodding off|(don'?t|doesn'?t|dont|does not|can'?t) "
                    r"(know|remember|recogni[sz]e)|keeps? asking|ask(s|ing)? (the )?same|passed out|knocked out|seizure)"),
    # a fall on a blood thinner, or a fall then vomiting and drowsier ("an elderly man on warfarin who fell this morning -
    # he's now vomiting and getting more drowsy"): a bleed in the head told without the word head
    ("head injury", r"\b(warfarin|apixaban|eliquis|rivaroxaban|xarelto|edoxaban|dabigatran|blood thinners?|anticoagula\w*)\b.{0,60}"
                    r"\b(fell|fall|fallen|hit|banged|knocked)\b.{0,80}\b(vomit\w*|threw up|throwing up|(being|been) sick|drows\w*|confused|sleepy)\b|"
                    r"\b(fell|had a fall|fallen)\b.{0,80}\b(vomit\w*|throwing up|(being|been) sick)\b.{0,40}\b(more |getting )?(drows\w*|sleepy|confused)\b"),
    # a clot in the lung after a swollen calf or a long flight; the nerves of the spine pressed (numb around the
    # bottom or between the legs, cannot pee); a new mother who does not know what is real
    ("pulmonary embolism", r"\b(calf|leg)\b.{0,60}\b(swollen|swelling|sore|painful|tender|red)\b.{0,300}\b(short of breath|"
                           r"breathless|out of breath|(can'?t|cannot|cant) (catch|get) (my|his|her) breath|chest (pain|hurts)|"
                           r"(sharp|stabbing) pain\b.{0,50}\bbreath\w*|coughing (up )?blood)"),
    ("cauda equina", r"\bnumb(ness)?\b.{0,40}\b(bottom|buttocks?|bum|groin|between (my|his|her|their) legs|saddle)\b|"
                     r"\b(back pain|back)\b.{0,80}\b(can'?t|cannot|cant|unable to|trouble|not able to) (pee|wee|urinate|"
                     r"control (my|his|her) (bladder|bowels))"),
    ("postpartum psychosis", r"\b(had (our|the|a|her) baby|gave birth|since the birth|after the birth|postpartum|post-partum|"
                             r"new mum|new mom)\b.{0,120}\b(not (really )?ours|evil|voices|not real|hallucinat\w*|paranoi\w*|"
                             r"better (off )?(if|without)|hurt (the|her|our) baby|harm (the|her|our) baby|hasn'?t slept)"
                             r"(?=.{0,200}\b(evil|voices|not real|hallucinat\w*|paranoi\w*|better (off )?(if|without)|hurt|harm|"
                             r"not (really )?ours|isn'?t ours)\b)"),
    # heat stroke: hot dry skin or no sweating with confusion; a temperature of 41 or more
    ("heat stroke", r"\b(hot and dry|hot,? dry|stopped sweating|not sweating)\b.{0,80}\b(confused|collapsed|drowsy|"
                    r"unresponsive|stumbl\w*|fainted)\b|\b(temp(erature)?|thermometer|fever)\b.{0,20}\b4[1-3](\.\d)?\b"),
    # the eye: a painful red eye with halos round lights or vomiting (acute angle-closure glaucoma), a chemical in it
    ("eye emergency", r"\b(halos?|rainbows?|rings?)\b.{0,30}\b(a?round|around) (the )?lights?\b.{0,120}\b(pain\w*|hurts?|sick|vomit\w*|"
                      r"threw up|throwing up|nause\w*)\b|\b(pain\w*|hurts?|hurting|aching)\b.{0,120}\b(halos?|rainbows?)\b.{0,20}"
                      r"\b(a?round|around) (the )?lights?\b|\beyes?\b.{0,40}\b(really |very |so |extremely )?(painful|pain|agony|hurts?)\b"
                      r".{0,100}\b(vomit\w*|been sick|threw up|throwing up)\b|"
                      r"\b(bleach|chemicals?|acid|alkali|oven cleaner|drain cleaner|lye|cement|lime|caustic|ammonia|cleaner)\b.{0,40}"
                      r"\b(splash\w*|sprayed|squirted|went|got|in)\b.{0,20}\b(my|his|her|their|the|an?)? ?eyes?\b|"
                      r"\b(splash\w*|sprayed|squirted)\b.{0,30}\b(in|into) (my|his|her|their|the) eyes?\b.{0,60}\b(burn\w*|sting\w*|"
                      r"(can'?t|cannot|cant) open)"),
    # a chemotherapy patient with a fever or shivers (neutropenic sepsis); a dangerous potassium, missed dialysis
    ("sepsis signs", r"\b(rigid|stiff as a board|rigid as a board)\b.{0,80}\b(temp(erature)?|fever)\b.{0,40}\b(confused|drowsy|"
                     r"unresponsive)\b|\b(chemo\w*|neutropeni\w*|immunosuppress\w*|(on|after|having) (radio|immuno)therapy)\b.{0,120}"
                     r"\b(temp(erature)?|fever\w*|feverish|38(\.\d)?|39(\.\d)?|40(\.\d)?|shiver\w*|shaking|rigou?rs?|burning up)\b|"
                     r"\b(temp(erature)?|fever\w*|feverish|shiver\w*|rigou?rs?|burning up)\b.{0,80}\b(chemo\w*|neutropeni\w*)\b"),
    ("dangerous blood result", r"\b(potassium|k\+?)\b.{0,25}\b(6\.[5-9]|[7-9](\.\d)?)\b(?!\s*(mg|g|%|years?|days?))|"
                               r"\bmissed\b.{0,25}\b(dialysis|(two|2|three|3|several|a few) (of (his|her|my) )?(dialysis )?sessions)\b"
                               r".{0,120}\b(weak\w*|breathless|short of breath|flutter\w*|palpitat\w*|confused|chest|heart)\b"),
    # an electric shock with a burn, a racing or fluttering heart or chest symptoms ("got a shock off a PDU ... burn
    # on his hand ... chest feels fluttery"): an arrhythmia can follow hours later
    # (a shock from something electrical: "I got a shock when I saw the invoice" is not one)
    ("electric shock", r"(\belectric(al)? shock\b|\bshock (off|from) (a |an |the |his |her |my |our )?(\w+ ){0,2}(cable|wire|"
                       r"socket|outlet|plug|fuse ?box|pdu|rack|power|mains|fence|appliance|panel|switch|lead|heater|"
                       r"kettle|toaster)s?\b)"
                       r".{0,120}\b(burns?|chest|heart|flutter\w*|palpitat\w*|numb|unconscious|collapsed)\b|"
                       r"\belectrocut\w*\b"),
    # a cold, white limb that has gone numb or will not move: an artery blocked ("leg went cold and white ... numb")
    ("limb without blood", r"\b(leg|arm|foot|hand)\b.{0,25}\b(cold|white|pale|blue)\b.{0,60}\b(numb|can'?t (move|wiggle|feel)|"
                           r"cannot (move|feel)|won'?t move|paralys\w*)\b"),
    # a tearing or ripping pain through to the back or chest: aortic dissection
    ("chest pain", r"\b(tearing|ripping)\b.{0,10}\b(pain|sensation|feeling)\b.{0,60}\b(chest|back|shoulder ?blades?|"
                   r"abdomen|belly|stomach)\b|\b(chest|back|shoulder ?blades?)\b.{0,40}\b(tearing|ripping)\b"),
    # a very high blood sugar with vomiting or fast breathing: diabetic ketoacidosis
    ("high blood sugar", r"\bstopped (taking )?(my|his|her|their) insulin\b.{0,80}\b(thirsty|sleepy|drowsy|vomit\w*|being sick|"
                         r"breathing|confused|not going to (restart|start|take))\b|\b(2[5-9]|[3-9]\d)([.,]\d)? ?mmol\b.{0,80}\b(throw\w* up|vomit\w*|being sick|breathing (fast|hard|deep)|"
                         r"ketones?)\b|\b(throw\w* up|vomit\w*|being sick)\b.{0,80}\b(2[5-9]|[3-9]\d)([.,]\d)? ?mmol\b"),
    # carbon monoxide as a household describes it: several people with headaches or sickness that ease outside
    ("carbon monoxide", r"\b(headaches?|dizzy|dizziness|drowsy|nause\w*|sick)\b.{0,160}\b(better|go(es)? away|clears?( up)?|ease\w*)\b"
                        r".{0,30}\b(outside|out of the (house|flat|home)|outdoors|fresh air|away from (home|the house)|(go|get|went|are) out)\b|"
                        r"\b(everyone|all of us|the whole (family|house(hold)?)|both of us|we all)\b.{0,80}\b(headaches?|dizzy|drowsy|"
                        r"nause\w*|sick)\b.{0,80}\b(heating|heater|furnace|boiler|stove|fire|burner|generator|barbecue|bbq|charcoal)\b"),
    ("self-harm", r"\b(suicid|kill(ing)? (myself|himself|herself|themselves)|end(ing)? (it all|(my|his|her|their) (own )?life)|"
                  r"tak(e|ing) (my|his|her|their) (own )?life|self[- ]harm|"
                  r"(hurt|harm|cutt?)(ing)? (myself|himself|herself)|want to die|better off dead|"
                  r"(don'?t|do not) want to (live|be alive|be here|go on|wake up)|no reason to live|"
                  r"\b(want|going|plan(ning)?|thinking( about| of)?|ready) to end (it|things|everything)\b|"
                  r"\bend(ing)? it\b.{0,15}\b(tonight|today|now|all|soon)|\bkms\b|\bunalive\b|"
                  r"(no|any) point (in )?(living|going on|being alive)|\bwish i (was|were) dead\b|"
                  # a day after which nothing matters: "won't matter after friday lol"
                  r"\b(won'?t|wont|will not) matter (after|by|past) (this )?((mon|tues|wednes|thurs|fri|satur|sun)day|tonight)\b|"
                  # a passive wish to die, which a crisis line answers too: "some days I wish I didn't wake up"
                  r"\bwish (i|he|she) (just )?(didn'?t|didnt|did not|wouldn'?t|wouldnt|would not|never) (wake|woke) up\b|"
                  r"\bwish (i|he|she) (wasn'?t|wasnt|weren'?t|was not) (here|alive|around)( any ?more)?\b|"
                  # someone at a height or a railway to jump: "on the edge of the roof", "he'll jump in front of a train"
                  r"\b(on|at|over) the edge of (the|a|our|their)\b.{0,25}\b(roof|rooftop|bridge|cliff|building|car ?park|"
                  r"multi-?storey|balcony)\b|\b(jump|jumping|throw (myself|himself|herself)) (in front of|under) "
                  r"(a|the) (train|bus|lorry|truck|car)\b|"
                  # a height and a jump named together: "standing on the bridge railing, says she's going to jump"
                  r"\b(roof|rooftop|bridge|cliff|ledge|railings?|balcony|parapet|window ?sill)\b.{0,50}\b(going to|gonna|will|'ll|wants? to|"
                  r"threaten\w* to|about to|trying to) jump\b|\b(going to|gonna|will|'ll|wants? to|threaten\w* to|about to|trying to) "
                  r"jump (off|from)\b.{0,25}\b(roof|rooftop|bridge|cliff|ledge|balcony|building|car ?park|multi-?storey|window)\b|"
                  r"\b(can'?t|cannot) go on (like this|anymore|any more)|"
                  # fresh34: "ive decided tonight is when i end things"
                  r"\b(decided|chosen|picked)\b.{0,30}\b(when|where|how) i('?ll| will)? end (it|things|everything|it all)\b|"
                  # fresh33: "been thinking about jumping off the multi storey car park"; fresh31: "tonight i will cut deep"
                  r"\b(think\w*|thought) (about|of) jumping (off|from)\b.{0,30}\b(roof|rooftop|bridge|cliff|ledge|balcony|building|"
                  r"car ?park|multi[- ]?storey|window|tower|block)\b|"
                  r"\b(i|i'?ll|i will|i'?m going to|im going to|gonna)\b( \w+){0,2} cut (deep|deeper|myself)\b(?! (into|out|off|from)\b)|"
                  # a burden to the family: "my parents would b better off w/o me"
                  r"\bbetter off (without|w/o|w/out|wo) (me|him|her|them)\b(?! (as|in|on|at) (the |our )?(admin\w*|lead|role|manager|owner|"
                  r"maintainer|team|project|rota|call))|"
                  # a method named: hanging, the sea, a car crash meant to look like an accident, a train, exhaust or
                  # charcoal fumes, a lethal number of one's own tablets asked for
                  r"\b(hang|hanging|hanged) (myself|himself|herself|themselves)\b|\b(cord|rope|belt|ligature)\b.{0,10}\b(round|around) "
                  r"(his|her|my|their) neck\b|\b(i'?m|im|i am|going to|gonna|will|'ll|plan to|about to) (walk|walking|swim|swimming) "
                  r"(into|out into|out to) the (sea|river|lake|ocean|waves)\b|\bdrown (myself|himself|herself)\b|"
                  r"\b(going to|gonna|will|'ll|plan to|planning to|about to|thinking of) (drive|driving|crash|crashing|steer|steering)\b"
                  r".{0,15}\b(into|off) (a|the) (tree|wall|bridge|lorry|truck|river|cliff|barrier)\b|\b(make|so) it looks? like an accident\b|"
                  r"\b(step|stepping|walk|walking|lie|lying|jump|jumping) (down )?(in front of|under|onto) (a|the) (train|bus|lorry|truck|"
                  r"tracks?|line|\d{1,2}[:.]\d\d)\b|"
                  r"\b(in|inside) the (garage|car)\b.{0,25}\bwith the (engine|motor) (running|on)\b|\bhose\b.{0,30}\bexhaust\b|"
                  # at the edge of a height now, a track to lie on, charcoal with a room sealed
                  r"\b(roof|rooftop|bridge|cliff|ledge|balcony|car ?park|multi-?storey|halls)\b.{0,60}\b((sitting|standing|sat|stood) (on|at)|over) the edge\b|"
                  r"\blegs (over|dangling over) the (edge|side|railing|ledge)\b|\b(lie|lying|lay) (down )?on the (track|tracks|line|railway|rails)\b|"
                  r"\bcharcoal\b.{0,80}\b(sealed|taped|duct tape)\b|\b(window|door|room|vents?)('?s| is| are)? (already )?(sealed|taped)( up)?\b.{0,60}\bcharcoal\b|"
                  r"\bcharcoal\b.{0,40}\b(in|inside) (my|the|his|her) (room|bedroom|tent|car|flat)\b|"
                  r"\bhow many (of )?(my|his|her) (\w+ ){1,2}((it )?(would|will)|(would|will|does) it) take\b|"
                  # "looked up how many paracetamol it would take"
                  r"\bhow many (of )?(the )?" + _MEDICINES + r" ((it )?(would|will|'d)|(would|will|does) it) take\b|"
                  r"\bhow many\b.{0,40}\b(would|will|to) (stop (my|his|her|your|a|someone'?s) heart|kill (me|someone|a person|"
                  r"him|her)|be (lethal|fatal))\b|\b(lethal|fatal) dose of (my|his|her)\b|"
                  # self-harm again: "i cut again tonight and i think it needs stitches"
                  r"\b(i|she|he|they) (cut|cutting) again\b(?! (the|my|a|an|it|his|her|our|their|this|that)\b)|"
                  r"\b(i|she|he|they) cut (myself |herself |himself )?(deeper|too deep)\b|"
                  r"\b(already |just )?(took|taken|swallowed|had) (the|all the|all) (stuff|pills|tablets|lot)\b.{0,20}\b(kicking in|starting to work|"
                  r"taking effect)\b|"
                  # hopelessness about living itself: "I can't see any point in life", "no point in anything anymore"
                  r"\b(don'?t|dont|do not|can'?t|cant|cannot) see (the |any )?point (any ?more|in (anything|going on|carrying on))\b|"
                  r"\b(see|is|there'?s|find)( no| not| any)? (the )?point (in|of|to) (living|life|being alive|going on|"
                  r"anything( any ?more)?|carrying on)\b|\blife (is|feels) (pointless|not worth (living|it))|"
                  # thinking about how to end one's own life: "been thinking of ways to end it", "how I would end it"
                  r"\b(think\w*|thought|planning|plans?|ways?|how)\b.{0,20}\b(to|i'?d|i would|i could|i will) end (it|my life|things)\b|"
                  # "I can't do this anymore. I have a plan for tonight and nobody would even notice"
                  r"\b(can'?t|cant|cannot) (do|take) (this|it) any ?more\b.{0,80}\b(plan|nobody|no one|goodbye)\b|"
                  r"\b(have|got|made) a plan\b.{0,40}\b(nobody|no one) (would|will) (even )?(notice|care|miss me)\b|"
                  # "I've been saving my pills and I'm going to take them all tonight"
                  r"\b(saving|saved|stockpil\w*|hoard\w*)( up)? (my |all my |the )?(pills|tablets|meds|medication)\b.{0,60}"
                  r"\b(take|swallow)\b|\b(going to|gonna|will|plan to) (take|swallow) (them|it|the lot|all of them|every one)"
                  r"( all)? (tonight|today|now|later|this evening)\b|"
                  # the means ready and the intent to take them: "I have pills ready and I'm going to take them"
                  r"\b(pills|tablets|meds|medication)\b.{0,20}\b(ready|out|here|lined up|counted|next to me)\b.{0,40}\b(going to|gonna|will|"
                  r"'ll) (take|swallow) (them|it|all|the lot)\b|"
                  # "stop my tablets and take the whole lot at once instead"
                  r"\b(take|swallow|taking|swallowing) (them all|the whole lot|the lot|all of them|every one|the whole (box|pack|packet|bottle))"
                  r" (at once|in one go|together)\b|"
                  # emerg8: a ligature tied to a point indoors ("tied the belt to the wardrobe door, testing it"), a
                  # way asked to stop existing ("whats the quickest way to stop existing")
                  r"\b(tied|tying|tie|fixed|fixing|attached|hooked|knotted)\b.{0,20}\b(belt|rope|cord|scarf|sheet|ligature|"
                  r"noose|dressing gown cord)\b.{0,30}\b(to|round|around|over|on) (the|a|my)\b.{0,12}\b(wardrobe|door|banister|"
                  r"bannister|beam|(curtain |stair ?|hand ?)rail|hook|loft|hatch|bed ?frame|curtain|handle|stair\w*)\b|"
                  r"\b(way|ways|how) (to|i can|can i|do i) (just )?stop existing\b|"
                  r"\b(i|i'?d|i would|i just)( just)? (want|wanna|wish i could|like|would like) to (just )?(stop existing|not exist( any ?more)?)\b)"),
    # the farewell signs (`_farewell`): letters to the family, a new home for a pet, "won't be needing it after Sunday"
]
_EMERGENCY_RE = [(name, re.compile(p, re.I)) for name, p in _EMERGENCY]
_SELF_HARM_RE = dict(_EMERGENCY_RE)["self-harm"]

# Farewell signs of a suicide plan, said without naming it: two of them together count as self-harm wording
_FAREWELL = [re.compile(p, re.I) for p in (
    r"\b(written|wrote|writing|write|left|leave|leaving)\b.{0,20}\b(letters?|notes?)\b.{0,20}\b(to|for) (my|all my|everyone|the|them)\b",
    # goodbyes written to be found or sent: "wrote goodbye messages to everyone and left them in drafts", "my letters
    # are on the desk", "thank-you emails to everyone, scheduled for Sunday", "set the email to my boss to send at 9am"
    r"\b(goodbye|farewell|thank[- ]you|last) (messages|e-?mails|texts|videos?|letters?|notes?|poems?|songs?)\b",
    # one's own funeral planned: "writing my own eulogy", "planning my funeral"
    r"\b(writ\w+|wrote|planned|planning|plan|chose|choosing|picked) (out )?my (own )?(eulogy|funeral)\b",
    r"\b(my |the )?(letters?|notes?) (are|is) (on|in|under) (the|my) (desk|table|drawer|bed|pillow|kitchen)\b",
    r"\b(e-?mails?|messages?|texts?|posts?)\b.{0,40}\bscheduled (for|to)\b|\b(set|timed|scheduled) (the |an |my )?(\w+ )?(e-?mails?|messages?|texts?|posts?)\b"
    r".{0,30}\b(to send|to go out|send at|on a timer|for \d)|\bleft (them|it) in (my )?drafts\b",
    # a last message, a thing decided and its hour: "this is the last message I'm sending anyone", "it's already
    # decided and it happens at midnight", "please don't try to talk me round", "I've decided and I'm calm about it"
    r"\b(this is )?the last (message|thing) (i'?m|i am|i'?ll be|i will be) (sending|writing|saying)\b",
    r"\b(it'?s|its|it is) (already |all )?decided\b|\b(i'?ve|ive|i have) decided\b(?! (to|on|that|which|whether|what|how)\b)",
    r"\b(don'?t|do not) (try to )?talk me (round|around|out of it|down)\b|\bit happens (at|on|tonight|tomorrow)\b",
    r"\b(i'?m|im|i am) (calm|at peace|okay|ok) (about|with) it\b",
    # fresh20-23: "giving my stuff away to friends and writing letters, I don't plan on being around after the weekend",
    # "theres no point anymore", "im not going to be here after this weekend"
    r"\b(giving|gave|given) (my|all my) (stuff|things|belongings|possessions|clothes) away\b|\b(writing|wrote|written) (goodbye )?letters\b",
    r"\b(don'?t|do not) plan on being (around|here)\b|\b(not going to|never going to) be (here|around) (after|by|past|beyond)\b",
    r"\b(there'?s|theres|there is) no point (any ?more|anymore)\b",
    # fresh26-29: "worked out how im going to do it", "so nobody has to sort it out after", "i think i'm done after this",
    # "I've got the boxes next to me"
    r"\b(worked out|figured out|planned|know|decided) (exactly )?how (i'?m|im|i am|i'?ll|i will) (going to |gonna )?do it\b",
    r"\bso (nobody|no one|noone) (has|have|needs?) to (sort|clear|deal with|clean) (it|things|everything|anything|my \w+)( out| up)?"
    r"( after| afterwards)?\b",
    r"\b(i'?m|im|i am) done after (this|tonight|today)\b(?! (meeting|call|one|shift|week|module|lecture|class|exam|task|ticket|"
    r"sprint|round|job|run|step|batch|upload|deploy\w*)\b)",
    r"\b(got|have|with) (the|my|all the) (pills|tablets|boxes|packets|packs|bottles?|blister packs)\b.{0,10}\b(next to|beside|in front of)"
    r" me\b",
    # a height or a railway as where one is going: "I'm going to the bridge after work", "before I go"
    r"\b(going|heading|walking|driving|off) (up )?to the (bridge|roof|rooftop|cliffs?|multi-?storey|car ?park roof|tracks|railway|"
    r"viaduct|quarry)\b|\bbefore i go\b(?! (on|to|for|away|into|out|home|back|off)\b)",
    # emerg6: "scheduled them to send at 2am", "I've decided that's the day", "given notice on the flat", bought "from 3
    # different shops so nobody asked", "recorded a video for the kids", "left my discord stuff to my bro"
    r"\b(scheduled|set|timed) (them|it) to (send|go out|post)\b",
    r"\b(decided|chosen|picked)\b.{0,15}\b(that'?s|that is|it'?s|it is|is|will be) (the|my) day\b",
    r"\b(given|gave|handed in) (my )?notice on (the|my) (flat|house|room|lease|tenancy)\b",
    r"\bfrom (\d+|two|three|four|several|different) (different )?(shops|pharmacies|chemists|stores|places)\b|"
    r"\bso (nobody|no one|noone) (asked|would ask|noticed|would notice|asks)\b",
    r"\brecorded (a |my )?(video|message)s? (for|to) (the|my) (kids|children|family|wife|husband|son|daughter|parents|partner)\b",
    r"\bleft (all )?my \w+ (stuff|things|accounts?|gear) to\b|\b(logging|signing|log|sign) off for good\b",
    # "sitting in the bathroom with a blade. i just want it all to stop. nobody would even notice"
    r"\b(want|need) (it all|everything|all of it|the pain|the thoughts) to (stop|end|go away)\b",
    r"\b(with|holding|got|have) (a|the|my) (blade|razor|razor blade|knife)\b(?! (sharpener|block|set|drawer))",
    r"\b(the |a |my )?(blade|razor|razor blade)\b.{0,12}\b(next to|beside|in front of|with) me\b",
    r"\b(nobody|no one|noone) (would|will|'d) (even )?(notice|care|miss me)\b",
    r"\b(decide|decided|going|plan\w*) to (finish|end) (everything|it all|all of it)\b",
    r"\b(by then|after that|after (mon|tues|wednes|thurs|fri|satur|sun)day) (it|nothing) (won'?t|wont|will not|doesn'?t) matter\b|"
    r"\b(won'?t|wont|will not) be (here|around) to\b",
    # means gathered: "been stockpiling my sertraline since october and I've got enough now", lethal doses looked up
    r"\b(stockpil\w*|hoard\w*|saving up|saved up|been saving)\b.{0,10}\b(my|his|her|the)\b \w+|\b(got|have) enough (now|of them)\b",
    r"\b(search\w*|look\w* up|googl\w*|read\w* (about|up on))\b.{0,30}\b(lethal|fatal|deadly) (dos\w*|amounts?)\b",
    # a height to be on: "I'll be on the top level before then", not at work: "I won't be in"
    r"\b(multi-?storey|car ?park|roof|rooftop|bridge|cliff)\b.{0,60}\b(i'?ll|i will|i'?m going to) be (on|at|up on) the (top|roof|edge)\b",
    r"\bi (won'?t|wont|will not) be in\b(?! (the|a|at|on|for|to|until|till|this|next|that)\b)",
    # a pet going to someone, rehomed: "the cat goes to my sister on thursday", "rehomed both my rabbits"
    r"\b(the|my|our) (cats?|dogs?|pets?|kitten|puppy|rabbits?|parrot|fish|hamsters?)('s| is| has)? (gone|going|goes|went) to\b|"
    r"\brehom(ed|ing) (both |all |all of )?(the|my|our) (cats?|dogs?|pets?|kittens?|pupp(y|ies)|rabbits?|parrots?|fish|hamsters?)\b",
    # affairs settled: "made a list of who gets what", "sorted the will", "paid off the credit card", a contract
    # cancelled, "so nothing's left hanging", "so my sister has them afterwards"
    r"\bwho gets what\b|\b(sorted|done|written|made) the will\b",
    r"\b(cancelled|canceled|closed) (my|all my) (phone|mobile|bank|contract|accounts?|subscriptions?)\b|"
    r"\bpaid off (all )?(my|the) (debts?|credit cards?|loans?|overdraft)\b",
    r"\bnothing('?s| is) left (hanging|undone|unfinished)\b|\btie (up|off) (the |all the |my )?loose ends\b|"
    r"\b(has|have|gets?|get) (them|it|everything) (afterwards|after i'?m gone|when i'?m gone)\b|\b(after|when|if|once) i'?m gone\b(?! (on|for|to|from)\b)",
    # calm after deciding, wanting it over, a night chosen: "I feel calm for the first time in ages", "I want it over",
    # "tonight I do it", "everything after it is empty"
    r"\b(feel|felt|feeling) (so )?(calm|peaceful|at peace)\b.{0,10}\b(for the first time|since (i|deciding))\b",
    r"\b(want|need) (it|this|everything|it all) (to be )?over( with)?\b(?! (the|a|an|my|to|by)\b)",
    r"\btonight i('ll| will)? do it\b|\bi('ll| will)? do it tonight\b|\beverything after (it|that|then|the \d+\w*)\b.{0,10}\b(empty|blank)\b",
    # nobody knows, the house asleep, sorry for the mess: "nobody knows.", "once my housemates are asleep"
    r"\b(nobody|no one|noone) knows\b(?! (why|how|what|where|when|if|whether|the|about|which|who)\b)",
    r"\b(once|when|after) (everyone|my \w+|the (kids|house|others)) (is|are|'?s|'?re|goes?|go|gone|went) (asleep|to (bed|sleep))\b",
    r"\bsorry (for|about) (the|all the) mess\b|\btell (her|him|them|my \w+|everyone) (that )?i'?m sorry\b",
    # the means bought or to hand: "bought vodka and two packs of paracetamol", "ordered a helium tank", "the key to
    # the gun cabinet", "charcoal to burn"
    r"\b(bought|got|buying|picked up|ordered)\b.{0,40}\b(packs?|boxes?|bottles?|packets?) of\b.{0,10}\b" + _MEDICINES + r"|"
    r"\b(ordered|bought|got|have|buying) (a )?helium (tank|canister|cylinder|bottle)\b|\bkey to the gun (cabinet|safe|locker)\b|"
    r"\bcharcoal\b.{0,20}\b(to burn|burning)\b",
    r"\b(found|finding|given|giving|gave)\b.{0,10}\b(a )?(new )?homes? for (my|our)\b|\b(giving|given|gave) away (my|all my|all of my)\b",
    r"\b(won'?t|wont|will not) (be )?(needing|need|using|around|here)\b.{0,40}\b(after|by|past|beyond|from)\b",
    r"\b(said|saying) (my )?goodbyes?\b|\b(put|putting|got|getting) my (affairs|things) in order\b",
    r"\b(after|by|past) this (weekend|week|friday|saturday|sunday)\b.{0,40}\b(won'?t|wont|will not|no longer)\b",
    # the means made ready: "the pills are counted out on the table", "I've got all my pills out"
    r"\b(pills|tablets|meds|medicines?|medication)\b.{0,20}\b(counted|laid|lined|set|sorted|put|all) out\b|"
    r"\b(got|have|put|taken) (all )?(my|the|his|her) (pills|tablets|meds|medication)\b.{0,15}\bout\b",
    # a pet or belongings handed on ("gave the cat to my sister", "gave my guitar and all my records to my brother")
    r"\b(gave|given|giving|handed|left) (the|my|our|his|her|their) (cats?|dogs?|pets?|kitten|puppy|rabbit|parrot|fish) "
    r"(away|to|with)\b|\b(gave|given|giving|give|gives) (away )?(all (of )?my|my \w+ and (all )?(of )?my) \w+|"
    r"\b(gave|given|giving|give|gives) (me|us|him|her) (his|her|their) \w+ and (his|her|their) \w+",
    # affairs put in order: a will sorted, passwords left in an envelope, the insurance's exclusion checked
    r"\b(sorted|sorting|wrote|written|made|updated|finished) (out )?my will\b|\bmy will\b.{0,15}\b(sorted|done|in order)\b",
    r"\bpasswords?\b.{0,40}\b(envelope|for my (wife|husband|partner|family|kids|children))\b",
    r"\b(suicide|two[- ]year|2[- ]year) exclusion\b|\blife insurance\b.{0,15}\b(sorted|in order|paid up)\b",
    r"\beverything'?s (tidy|sorted|in order) now\b",
    # goodbyes scheduled or posted, and nobody reachable: "scheduled emails to my family for 6am",
    # "posted 'thanks for everything, sorry'", "isn't answering his phone"
    r"\bscheduled (e-?mails?|messages?|posts?|texts?)\b.{0,20}\b(to )?(my )?(family|kids|children|wife|husband|parents|friends)\b",
    # (a goodbye posted or sent, not a colleague's thanks on leaving a job)
    r"\b(posted|put|wrote|sent|saying|said|texted|e-?mailed|messaged|dm'?d|message[ds]?|story)\b.{0,30}\bthanks? (you )?for everything\b|"
    r"\b(said|saying) goodbye\b.{0,40}\bwithout (them|him|her|anyone) knowing\b",
    r"\b(isn'?t|is not|not|hasn'?t been|won'?t|wont) (answering|picking up|replying)\b|\blocation (is )?(off|turned off)\b",
    # time running out for the writer: "won't matter after friday", "sign off for good", "none of this is my problem",
    # "won't need them where I'm going", "my last week using medhive, or anything really", "permanently"
    r"\b(won'?t|wont|will not) matter (after|by|past|once)\b|\b(sign|signing|log|logging) off for good\b",
    r"\bnone of this (is|will be) my problem\b|\bwon'?t need (them|it|this|these|those|anything) where\b",
    r"\blast (week|day|night|time)\b.{0,30}\bor anything( really| else)?\b|(^|[.!?]\s+)permanently\b",
    r"\bpermanently\b.{0,40}\b(tonight|today)\b|\b(won'?t|wont|will not) be around after\b",
    # a date chosen ("I've picked my birthday, the 14th ... to go on the same day I came")
    r"\b(picked|chosen|chose|set) (a |the |my )?(date|day|birthday)\b|\bput (a|the) date in my (calendar|diary)\b",
    r"\bto go on the (same )?day\b",
    # the means counted and judged enough: "counted them out again. 42. should be enough", "not scared anymore"
    r"\bcounted (them|it|these|those|the \w+) (out|up)\b|\b(should|would|will|that'?s|is) (be )?enough\b.{0,20}"
    r"\bwith the (vodka|alcohol|wine|whisky|whiskey|drink)\b|\bnot (scared|afraid) any ?more\b",
    r"\b(sort|sorting|sorted|fix|fixing|deal with|dealing with)\b.{0,25}\bmyself\b.{0,10}\b(tonight|today)\b",
    r"\b(know|worked out|figured out) (exactly )?how (much|many)\b.{0,30}\b(it would take|would do it|i'?d need)\b",
    # a firearm that has gone missing or is to hand: "asked where his old service revolver was. It's gone"
    r"\b(revolver|shotgun|gun|pistol|rifle|firearm)\b.{0,60}\b(gone|missing|loaded|where)\b",
    r"\b(gone|missing|where)\b.{0,40}\b(revolver|shotgun|gun|pistol|rifle|firearm)\b",
    # the place in passing: "the bridge near uni has a nice view"
    r"\b(bridge|roof|rooftop|cliff|ledge|multi-?storey)\b.{0,30}\b(nice view|view from|high enough|drop|quiet at night)\b",
    # the means at hand: "got my mum's insulin pens in my room", "the pills are lined up on the table"
    r"\b(got|have|taken|hidden|keeping)\b.{0,15}\b(insulin|pens|pills|tablets)\b.{0,15}\bin my (room|bag|car|drawer)\b",
    r"\b(pills|tablets|meds)\b.{0,20}\b(lined|laid|counted) up\b",
    # the last things finished: "just need to finish this last handover", "the last commit pushed, docs handed over"
    r"\b(this|my|the) last (handover|shift|commit|thing to do)\b",
    # (not a last day at a job: "today is my last day at St Mary's")
    r"\b(tonight|today|tomorrow|this|it'?s|it is) (is|will be|'?ll be)? ?(the|my) last (night|day|time)\b"
    r"(?!\s+(at|of|in|with|on|for|before)\b)",
    r"\b(i'?ve|ive|i have) made (up )?my mind\b|\bmy mind is made up\b",
    # emerg8: a message on a timer, telling them where to find the writer, "I've sorted out how.", the pills taken
    # wanted to work faster
    r"\b(messages?|e-?mails?|texts?|posts?)\b.{0,40}\bon a timer\b",
    # fresh34: "he's got nothing left and has the rope ready"
    r"\b(i'?ve|ive|i have|he'?s|she'?s|he has|she has|they'?ve|they have) got nothing left\b(?! (in|of|to|for|on|but)\b)",
    # emerg9: "wrote the note, scheduled the email to go out at 9am"
    r"\b(wrote|written|writing|finished|left) (the|my) (note|letter)\b(?!\s+(to|for|about|on|in|at|from|of)\b)",
    r"\b(tell\w*|let|letting) (them|him|her|people|everyone|someone|my \w+)( know)? where (to find|they'?ll find|they will find|"
    r"they can find) (me|my body)\b",
    r"\b(i'?ve|ive|i have) (worked|figured|sorted) (out )?how\s*($|[.!,;'\"’”)])",
    r"\b(make|get|help) (the|my|these|those) (pills|tablets|meds|medication) (to )?(work|kick in|act|take effect) (faster|quicker|sooner)\b",
    # the means and the method worked out: "working out how I'd do it", "the rope is already in the garage"
    r"\b(worked|working|figured|figuring|planned|planning|decided) (out )?how (i'?d|id|i would|i will|i'?ll|to) do it\b",
    r"\b(rope|noose|ligature)\b.{0,30}\b(ready|already|garage|attic|loft|tied|bought|hidden|waiting|boot|trunk|car|shed)\b",
    # telling someone, as a last word: "I just wanted to tell someone", "wanted someone to know"
    r"\b(just )?(want|need)(ed)? (to tell someone|someone to know|to say goodbye|to let (someone|somebody|you) know|"
    r"to (type|say|write) it (somewhere|out|to someone))\b",
    # hopelessness said without the words of a plan: "don't see the point anymore", "can't do this anymore"
    r"\b(don'?t|dont|do not|can'?t|cant|cannot) (really )?see (the |any |a )?point\b|\b(can'?t|cant|cannot) (do|take) (this|it) any ?more\b",
)]


def _farewell(text: str) -> re.Match[str] | None:
    """The first of two or more farewell signs that do not overlap (one pattern may hold several signs)."""
    found = sorted((m for p in _FAREWELL for m in p.finditer(text)), key=lambda m: m.start())
    apart = []
    for m in found:
        if not apart or m.start() >= apart[-1].end():
            apart.append(m)
    return apart[0] if len(apart) >= 2 else None


# Messages that name a red flag but describe nothing happening now (benchmarks/results/assistant-emerg1.md):
# - an event placed in the past and said to be over: "a seizure three years ago, seizure-free since", "a fall last
#   month, just bruises, he's fine now" (anything new, sudden or happening again still counts);
# - school work about emergencies: "revising for my OSCE: what does FAST stand for?" (nobody named, no "I have");
# - a question about what the assistant does with such a message: "what would it do if someone typed chest pain?";
# - a model's input named for what it codes: "what does chest pain type 4 mean in the heart disease model?";
# - a system that collapses ("our batch pipeline collapses at 2am"), a vitamin taken twice.
_PAST_TIME = re.compile(r"\b(used to|(\d+|a few|a couple of|several|two|three|four|five|six|ten|many) (years?|months?|weeks?) ago|"
                        r"(years|months) ago|"
                        r"last (year|month|week|summer|winter|spring|autumn|christmas)|in (19|20)\d\d|since (19|20)\d\d|"
                        r"years? back|as a (child|kid|teenager)|since (childhood|birth|i was (a )?(kid|child|baby)))\b", re.I)
_RESOLVED = re.compile(r"\b((been|is|was|am|i'?m|she'?s|he'?s|they'?re|we'?re|we are|feels?|feeling|doing|seems?) (both |all )?(really |so |very |much |quite )?(fine|well|ok|okay|good|great|"
                       r"stable|better)|(mostly |fully |completely )?recovered|(seizure|symptom|pain)[- ]free|just (some )?bruis\w*|"
                       r"said it was|all clear|out of danger|(made|making) an? (good|full|great|remarkable) recovery|"
                       r"(is|are|was) (back )?home|(i'?m|she'?s|he'?s|they'?re) an? (\w+ )?(nurse|doctor|paramedic|student|teacher|carer|"
                       r"mum|mom|dad|mother|father|parent|grandparent|volunteer|counsell?or|pharmacist|medic|midwife|adult) now|(been |is |stayed |has been )?clean (for )?(\d+|a|one|two|three|four|five|"
                       r"several|a few|many) (years?|months?)|turned out to be (just |only )?(reflux|indigestion|heartburn|anxiety|"
                       r"a panic attack|muscular|a pulled muscle|nothing( serious)?|a virus|gastritis|a trapped nerve)|"
                       # treated and over: "it's mostly gone", "now on levetiracetam with no further events", "finished
                       # cardiac rehab and I'm running again", "safe now, no plan"
                       r"(mostly|all|completely) gone|(it'?s|its|it is) (now )?gone( away)?|(is|are|was) now on \w+|no further (events?|seizures?|episodes?|attacks?|"
                       r"symptoms?|problems?)|(running|walking|working|cycling) again|back (to normal|to work|at work)|safe|"
                       r"finished (\w+ )?rehab|(i'?m|she'?s|he'?s|they'?re) \d+ now|(has been |was |been )?discharged|"
                       # checked and normal: "GP checked last month, ECG and bloods normal"
                       r"(ecg|ekg|bloods?|tests?|scans?|results?|x-?rays?|lfts?)( and (\w+ )?(ecg|bloods?|tests?|scans?))? (were |was |came back |all |are )?normal|"
                       r"nothing to worry about|congenital)( now| since| with \w+( \w+)?| for (a long time|years|months|ages)( now)?)?\b", re.I)
_ACUTE = re.compile(r"\b(now|right now|at the moment|currently|tonight|today|this (morning|afternoon|evening)|"
                    r"(minutes?|mins?|hours?) ago|again|ambulance|911|112|999|(?<!got )(?<!getting )help(?=\s*([.!?,]|$|(me|us|him|her|them|please|now)\b))|"
                    # ("I just want to delete my history" places nothing now)
                    r"just(?! (want|wanted|wanna|wondering|curious|checking|asking)\b)|sudden(ly)?|started|starting|began|"
                    r"worse|is having|am having|i'?m having|are having|she'?s having|he'?s having)\b", re.I)
_STUDY = re.compile(r"\b(revising|revision|studying|study(ing)? for|for (my|our|the|an?|tomorrow'?s) (\w+ ){0,2}(exams?|osces?|"
                    r"tests?|quiz(zes)?|assignments?|essays?|course|class|lectures?|modules?|handouts?|presentations?|finals)|"
                    r"(ethics|bioethics|law|philosophy|sociology|psychology|policy) (essay|assignment|paper|seminar|debate|module)|"
                    r"(research methods|ethics|bioethics|psychology|sociology) (assignment|students?|coursework|project)|"
                    r"(nursing|medical|pharmacology|physiology|homework|school|uni|university|college) (assignment|essay|exam|"
                    r"question|revision)s?|(first[- ]aid|cpr|bls|als) (course|class|handout|training|exam)|"
                    r"writing an? (handout|leaflet|essay|poster|quiz)|(writing|write) (a|my|an) (\w+ )?(paper|thesis|dissertation|"
                    r"literature review|review|article) (on|about|into))\b", re.I)
_SELF_NOW = re.compile(r"\b(i|i'?m|im|i am) (have|having|feel|feeling|got|am|can'?t|cant|really|so|very)\b|"
                       r"\bmy (own )?(chest|head|heart|arm|face|throat|breathing|vision|eyes?|temp\w*|pulse|sugar|blood)\b", re.I)
_RELATIVE = re.compile(r"\b(son|daughter|baby|toddler|child|kid|mum|mom|mother|dad|father|husband|wife|partner|brother|sister|"
                       r"grand\w+|friend|roommate|flatmate|colleague|neighbou?r|boyfriend|girlfriend)\b", re.I)
_TYPED = re.compile(r"\b(if|when|what if|suppose|whether)\b.{0,30}\b(someone|somebody|a (user|patient|person|customer|caller)|"
                    r"users?|people|patients?)\b.{0,15}\b(types?|typed|writes?|wrote|enters?|entered|says?|said|mentions?|"
                    r"messages?|reports?|asks?)\b", re.I)
_THE_PRODUCT = re.compile(r"\b(assistant|chat ?bot|chat|bot|app|system|medhive|backend|groq|portal)\b", re.I)
_CODED = re.compile(r"\bchest pain type\b|\b(coded|encoded|coding|column)\b|\b(uci|cleveland|kaggle)\b|"
                    r"\b(training range|node validate|historical (\w+ )?(export|data|records?))\b|"
                    r"\bin the \w+( \w+)? (model|data ?set|data)\b", re.I)
_SYSTEM_COLLAPSE = re.compile(r"\b(pipelines?|servers?|services?|nodes?|supernodes?|jobs?|clusters?|systems?|apps?|process(es)?|"
                              r"sites?|pages?|queues?|batch(es)?|databases?|db|postgres(ql)?|mysql|redis|aggregators?|superlinks?|apis?|backends?|"
                              r"instances?|vms?|deployments?|stacks?|containers?|pods?|builds?|networks?|connections?|"
                              r"accuracy|performance|metrics?|auc|scores?|uploads?|rounds?|federations?|training|budgets?|"
                              r"projects?|pilots?|funds?|funding|revenue|margins?|cash)\b(\s+\w+){0,3}\s+['\"‘“]?"
                              r"(collaps\w*|(is |are |was |keeps? )?(bleeding|bled|haemorrhag\w*|hemorrhag\w*)( out)?)", re.I)
_SUPPLEMENT = re.compile(r"\b(vitamins?( [a-z]\d?)?|multivitamins?|supplements?|probiotics?|fish oil|cod liver oil)\b", re.I)
_MANY = re.compile(r"(?<![\d,.])([3-9]|\d{2,}(,\d{3})*)(?![\d,.])(?!\s*(iu|mg|mcg|µg|ug|units?|ml)\b)|\b(three|four|five|six|seven|eight|nine|ten|dozens?|handful|bottle|packet|box|lots|a lot|"
                   r"loads|all (of )?(the|them|my))\b", re.I)
_CHILD = re.compile(r"\b(child|children|kid|kids|son|daughter|baby|toddler|boy|girl|\d{1,2}[- ]?(yo|year[- ]old|months?[- ]old))\b",
                    re.I)


# Fiction, games, drills and teaching cases (benchmarks/results/assistant-emerg4.md): "I'm writing a novel where the
# heroine poisons her husband", "my D&D character just bled out", "a teaching scenario for our nursing students:
# 'a 70-year-old collapses'", "role-players will say 'he's not breathing'". Only a frame planned or made up: an
# event during a drill ("my colleague collapsed during the fire drill") is not one, and anything now still counts.
_FRAME = re.compile(r"\b(writing|write|wrote) (a|my|an) (\w+ )?(novel|story|book|screenplay|script|play|game|poem|song|lyrics)\b|"
                    r"\b(novel|story|book|film|game|campaign|episode) where\b|\bin (my|a|the|our) (novel|story|book|screenplay|script|game|campaign)\b|"
                    r"\b(teaching|training) (session|workshop|day|lecture|tutorial)s?\b|\bfor (a|my|our|the) (workshop|lecture|tutorial|seminar)\b|\b(d&d|dnd|rpg|video ?game|my character|in[- ]game)\b|"
                    r"\b(teaching|training|practice|sample|example|mock|made[- ]up) (scenarios?|cases?|conversations?|dialogues?|"
                    r"stations?|traces?)\b|\b(osce|role[- ]?play\w*|playing a patient|simulation|simulated|tabletop exercise)\b|"
                    r"\b(running|planning|organi[sz]ing|preparing|holding) an? (\w+[- ]?){0,2}(exercise|drill)\b", re.I)
_QUOTED = re.compile(r"'[^']{3,}'|\"[^\"]{3,}\"|‘[^’]{3,}’|“[^”]{3,}”")
# (in a story "a radio play set in an ambulance control room" names a setting: the other signs of now still count)
_SETTING = re.compile(r"\b(ambulance|911|112|999)\b", re.I)


def settled(text: str) -> bool:
    """The text names a red flag only as something over, as school work, or in a story, game, drill or
    teaching case: nothing is happening now. Also read for the learned router's emergencies
    (`assistant.session`)."""
    if _PAST_TIME.search(text) and _RESOLVED.search(text) and not _ACUTE.search(_RESOLVED.sub(" ", text)):
        return True
    if _FRAME.search(text) and not _ACUTE.search(_SETTING.sub(" ", _QUOTED.sub(" ", text))) and not _SELF_NOW.search(text):
        return True
    return bool(_STUDY.search(text) and not _ACUTE.search(text) and not _SELF_NOW.search(text)
                and not _RELATIVE.search(text))


# a figure of speech: "every time I open the usage page I nearly have a heart attack", "the bill gave me a heart attack"
_HEART_ATTACK_IDIOM = re.compile(r"\b(nearly|almost|practically) (have|had|having|get|got) a heart attack\b|"
                                 r"\b(gave|give|gives|giving) (me|us|him|her|them) a heart attack\b|"
                                 r"\bheart attack[- ](level|levels|moment|inducing|territory|material|worthy)\b", re.I)


# families whose words describe what is happening to someone ("fainted", "not responding"), not a symptom's name
_DESCRIBED = {"unconscious", "unresponsive", "seizure", "breathing"}


def _not_happening(name: str, m: re.Match[str], text: str) -> bool:
    """The match `m` of family `name` is in one of the messages above that describe nothing happening now."""
    if settled(text):
        return True
    if name == "heart attack" and _HEART_ATTACK_IDIOM.search(text) and not re.search(
            r"\bheart attack\b", _HEART_ATTACK_IDIOM.sub(" ", text), re.I):
        return True  # every "heart attack" of the text is in a figure of speech
    if _TYPED.search(text) and _THE_PRODUCT.search(text):
        return True  # "what would the assistant do if someone typed that they have chest pain?"
    if _CODED.search(text) and not _PERSON_OR_NOW.search(text) and not _HAPPENING.search(text) and not (
            name in _DESCRIBED and _AT_WORK.search(text)):
        return True  # "what does chest pain type 4 mean in the heart disease model?" (not "a tech just collapsed")
    if name in ("unconscious", "bleeding") and m.group(0).lower().startswith(("collaps", "bleed", "bled", "haem", "hem")) and (
            _SYSTEM_COLLAPSE.search(text) and not _SOMEONE_ELSE.search(text)):
        return True  # "our batch pipeline collapses every night", "our pilot budget is bleeding out"
    return (name == "overdose or poisoning" and bool(_SUPPLEMENT.search(text)) and not _MANY.search(text)
            and not _CHILD.search(text))  # "I took two of my vitamin D tablets by mistake"

# A documentation question that merely names a symptom ("does the ECG model detect chest pain?") is not an
# emergency: it names the system (a model, the assistant, a dataset) and nobody in it (no "I", "my", "he",
# "my dad", "a patient", "now"). Anything that names a person or the present still counts: when in doubt,
# safety wins. Self-harm wording always counts, whatever else the text says.
_ABOUT_SYSTEM = re.compile(
    r"\b(detects?|detecting|detection|classif\w*|recogni[sz]e|predicts?|features?|labels?|classes|data ?sets?|"
    r"trained on|training data|model card|documentation|docs|knowledge (base|pages?)|benchmark|input fields?)\b|"
    r"\b(model|assistant|chat ?bot|medhive)\b.{0,30}\b(handle|cover|support|tell apart|distinguish|answer|respond)",
    re.I)
_PERSON_OR_NOW = re.compile(
    r"\b(i|i'?m|im|i'?ve|ive|i'?d|me|my|myself|mine|his|hers|they'?re|anyone|" + _OTHERS + r"|"
    r"now|right now|currently|tonight|today|help|ambulance|911|112|999)\b", re.I)
# a time just ahead, as a fragment with no pronoun gives it ("want it over before morning", "cant do this anymore"):
# enough for the learned router's emergency to stand, not for a rule's (an exam "tomorrow" names nobody)
_SOON = re.compile(r"\b(tomorrow|any ?more|this (morning|afternoon|evening|weekend)|before (the )?morning)\b", re.I)
# people at work, named by their job ("one of our techs", "a member of staff"): a person for the learned router's
# emergency; for the rules a documentation question may name them ("our staff ask whether the model detects a seizure")
_AT_WORK = re.compile(r"\b(techs?|technicians?|engineers?|staff|employees?|workers?|guy|bloke|lad|customer|visitor|"
                      r"passenger)\b", re.I)
_ALWAYS = {"self-harm"}
# Self-harm wording counts whatever else the text says, but for two things a counsellor would not answer with a
# crisis line (benchmarks/results/assistant-emerg4.md), read strictly:
# - self-harm or suicide named only as a topic of research or software: "my thesis on suicide-risk prediction",
#   "a self-harm content classifier", "the ethics of predicting self-harm" (not "does the assistant detect
#   suicidal thoughts?", which may be a person asking);
# - a crisis placed in the past and said to be over: "I used to self-harm as a teenager, I'm 30 now and doing fine".
# Either needs nothing now in the text and no farewell sign, and every self-harm wording of the text inside a topic
# phrase (a topic) or a past frame with its resolution. A clinician should review both.
_SELF_HARM_TOPIC = re.compile(
    r"\b(self[- ]harm|suicid\w*)([- ]risk)?[- ](content|detection|detector|classifiers?|prediction|predictors?|risk|research|"
    r"models?|data ?sets?|data|stud(y|ies)|literature|polic(y|ies)|prevention|screening|notes|cases|rates?|statistics|ideation "
    r"(detection|models?|data))\b|\b(predict\w*|classif\w*|screen\w* for|research(ing)? (on|into)|ethics of|"
    r"stud(y|ies|ying) (on|of)|papers? on|literature on)\s+(\w+\s+)?(self[- ]harm|suicid\w*)|"
    # a disclosure to be handled, in a study or a policy: "how we'd handle a participant disclosing suicidal thoughts"
    r"\b(handle|handling|respond to|responding to|deal with)\b.{0,20}\b(a |an )?(participant|patient|user|client|student)s? "
    r"(disclosing|reporting|expressing|with|who (discloses|reports|expresses|has))\b.{0,12}\b(self[- ]harm|suicid\w*)|"
    r"\b(when|if) (a |an )?(user|participant|patient|client|student|person|someone|somebody|anyone)s? (discloses|reports|"
    r"mentions|expresses|types|writes|says)\b.{0,12}"
    r"\b(self[- ]harm|suicid\w*|(that )?(they|he|she) (want|wants|wanted) to (die|end it))|"
    r"\bdisclosures? of (self[- ]harm|suicid\w*)|"
    # emerg8: software that finds it, "a chatbot that spots suicidal messages"
    r"\b(chat ?bots?|classifiers?|models?|tools?|apps?|systems?|filters?)\b (that|which|to) (spots?|detects?|flags?|finds?|"
    r"catch(es)?|recogni[sz]es?|identif(y|ies)) (\w+ ){0,2}(self[- ]harm|suicid\w*)|"
    # a column or a field named by its identifier: "a column 'suicide_attempt_history'", "prior_self_harm"
    r"\b\w*(self_?harm|suicid)[a-z]*_\w+|\b\w+_(self_?harm|suicid)\w*", re.I)


# a process or a program: "our node process commits suicide right after enroll, just exits"
_SYSTEM_SUICIDE = re.compile(r"\b(process(es)?|node|job|container|pod|service|server|app|program|daemon|script|thread|"
                             r"worker)\b(\s+\w+){0,2}\s+(commits?|committed|committing) suicide\b", re.I)


# the writer's own self-harm wording, not placed in the past: "I want to die", "I'm going to take them", "I can't go on
# like this", which no frame, topic or past crisis of the same text may set aside ("I'm writing a story where the
# character wants to die, but honestly I want to die too"); "I used to self-harm" is in the past
_FIRST_PERSON = re.compile(r"\b(i|i'?m|im|i am|i'?ll|i will|i'?ve|ive|me|myself)\b", re.I)
_IN_THE_PAST = re.compile(r"\b(used to|had|was|were|did|tried|attempted|years ago|as a (teen|teenager|child|kid))\b", re.I)


def _writers_own(x: re.Match[str], text: str) -> bool:
    start, end = max(0, x.start() - 12), x.end()  # the wording and its subject, not a sentence away,
    while start > 0 and text[start - 1].isalnum():
        start -= 1  # in whole words ("the detective finds a suicide note" holds no "ive")
    while end < len(text) and text[end].isalnum():
        end += 1
    window = text[start:end]
    # "I self-harmed a lot back in 2019": the wording itself in the past, where the text names a time long past
    past = _IN_THE_PAST.search(window) or (window.lower().endswith("ed") and _PAST_TIME.search(text))
    return bool(_FIRST_PERSON.search(window)) and not past


# the thing meant said right after: "end it. My subscription, I mean", "end it - the trial, I mean"
_CORRECTED = re.compile(r"\s*[.!,:;-]*\s*(i mean |i meant )?(my|the|our|this) (\w+ )?(subscription|account|plan|contract|trial|"
                        r"membership|keys?|node|job|run|session|project|call|meeting)s?,? ?(i mean|i meant|lol|haha)\b", re.I)


def _inside(x: re.Match[str], spans: list[tuple[int, int]]) -> bool:
    return any(a <= x.start() and x.end() <= b for a, b in spans)


def _self_harm_not_now(text: str) -> bool:
    """Every self-harm wording of `text` is a program's, a topic, in a story or teaching case, or a crisis over (the
    readings above), and none is the writer's own."""
    wordings = list(_SELF_HARM_RE.finditer(text))
    programs = [t.span() for t in _SYSTEM_SUICIDE.finditer(text)]
    if programs and all(_inside(x, programs) for x in wordings) and (
            not _SOMEONE_ELSE.search(_SYSTEM_SUICIDE.sub(" ", text))):
        return True  # every self-harm wording is a program's
    if wordings and all(_CORRECTED.match(text, x.end()) for x in wordings) and _farewell(text) is None:
        return True  # "I'm going to end it. My subscription, I mean."
    outside = _QUOTED.sub(" ", text)
    quotes = [q.span() for q in _QUOTED.finditer(text)]
    if (_FRAME.search(outside) and all(_inside(x, quotes) for x in wordings) and not _ACUTE.search(outside)
            and not _SELF_NOW.search(outside) and _farewell(outside) is None):
        return True  # a villain's line in a game script: "the villain says 'I'll end it all tonight'"
    if _farewell(text) is not None or _ACUTE.search(_RESOLVED.sub(" ", text)) or any(
            _writers_own(x, text) for x in wordings):
        return False
    topics = [t.span() for t in _SELF_HARM_TOPIC.finditer(text)]
    if all(_inside(x, topics) for x in wordings):
        return True  # a topic of research or software
    if _STUDY.search(text) and not _SELF_NOW.search(text) and not _RELATIVE.search(text):
        return True  # course work: "for a psych module: suicidal ideation and intent in the C-SSRS"
    if _FRAME.search(text) and not _SELF_NOW.search(text):
        return True  # a story, a game, a teaching case: "a short story where the main character attempts suicide"
    return bool(_PAST_TIME.search(text) and _RESOLVED.search(text))


_NEEDS_PERSON = {"unresponsive", "confusion with fever", "seizure"}
_SOMEONE_ELSE = re.compile(r"\b(" + _SOMEONE + r")\b", re.I)


# "can the heart disease model tell if somebody had a heart attack in the past?": a question about what a model
# can tell, of an event the text itself places in the past, is a question about the product, even naming a person.
# Anything placing it now (or minutes ago, or asking for help) still counts.
_MODEL_CAN = re.compile(
    r"(\b(models?|medhive|assistant|classifier|predictor|tool|app)|\bthe \w+( \w+)? one)\b.{0,40}\b(tell|detect|know|see|spot|show|find|"
    r"predict|recogni[sz]e|pick up|identify|work out)\b", re.I)
_PAST_EVENT = re.compile(r"\b(in the past|history of|previous(ly)?|prior|(years?|months?) (ago|before|earlier)|"
                         r"last (year|month)|ever had|once had|old (heart attack|stroke|infarct\w*)|"
                         # or one that may come, which a model is asked to foresee: "whether I'm going to have a heart attack"
                         r"(going to|gonna|will|likely to) (ever )?(have|get|suffer)|(at )?risk of|chances? of|in (the )?future|one day)\b", re.I)
_HAPPENING = re.compile(r"\b(now|right now|currently|tonight|today|just|is having|am having|i'?m having|are having|"
                        r"(minutes?|mins?|hours?) ago|again|ambulance|911|112|999|help)\b", re.I)


# the names of events, as a question about a model's reach uses them; a described sign ("her face is drooping")
# is happening to someone whatever else the text says
_EVENT_NAME = re.compile(r"(heart attack|cardiac arrest|stroke|seizures?|overdose|allergic reaction|anaphylaxis)",
                         re.I)


def _about_a_past_event(text: str) -> bool:
    if not (_MODEL_CAN.search(text) and _PAST_EVENT.search(text)) or _HAPPENING.search(text):
        return False
    return all(_EVENT_NAME.fullmatch(m.group(0).strip()) for _, p in _EMERGENCY_RE for m in p.finditer(text))


# a red flag's words named as words, in quotes (emerg9): "check the notice fires for the word 'overdose'", "doctors type
# 'chest pain' as a field name"; what is said outside the quotes still counts
_MENTION = re.compile(r"\b(word|words|term|terms|phrase|phrases|string|strings|keyword|keywords)\s+['\"‘“][^'\"’”]{1,40}['\"’”]|"
                      r"['\"‘“][^'\"’”]{1,40}['\"’”]\s+as an? (field name|field|word|term|keyword|label|column)\b", re.I)


def _match(text: str) -> tuple[str, re.Match[str]] | None:
    text = _MENTION.sub(" ", text)
    found = _match_as_written(text)
    if found is None and (respelled := _respelled(text)) != text:
        found = _match_as_written(respelled)  # "i jsut took evrything in the cupbord"
        if found is not None and found[0] not in _ALWAYS and settled(text):
            return None  # a respelled word ("OSCE" made "once") must not undo the frame the words as written set
    return found


# The families are written in correctly spelled words, and one typo in the word that matters ("bleding",
# "brige", "tabletts") made them miss. A message the rules miss as written is read again with each word the
# dictionary lacks (four letters or more: "im" and "kms" stay) replaced by the most frequent word one edit away
# that starts with the same letter (a first letter is seldom the one mistyped) and that the rules themselves use
# (a word of a family's pattern, or one starting with a stem such as "convuls"): pyspellchecker's English word
# frequencies rank the candidates. Only the rules' words are wanted, so the product's own words stay as typed
# ("admin" is not made "admit", "dpia" not "apia", "xray" not "gray"). Over the sets' emergencies
# the rules recognise, one typo put into a matched word dropped them to about six in ten; the respelled pass
# gives most back, and no other message of the sets changes verdict (`python -m benchmarks.safety_typos`,
# benchmarks/results/safety_typos.md). Loaded only when a message matched nothing as written (about 0.1 s, once
# per process).
def _respelled(text: str) -> str:
    checker = _spell_checker()
    if checker is None:
        return text
    words, stems = _rule_words()

    def fix(m: re.Match[str]) -> str:
        word = m.group(0).lower()
        if len(word) < 4 or word in checker:
            return m.group(0)
        wanted = [c for c in checker.candidates(word) or ()
                  if c[0] == word[0] and (c in words or c.startswith(stems))]
        return max(wanted, key=lambda c: (checker[c], c)) if wanted else m.group(0)

    return re.sub(r"[A-Za-z]+", fix, text)


@functools.cache
def _rule_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """The words the emergency families and farewell signs are written in, and their stems of five letters or
    more ("convuls", "anaphyla", "stockpil")."""
    patterns = [p.pattern for _, p in _EMERGENCY_RE] + [p.pattern for p in _FAREWELL]
    words = frozenset(w for p in patterns for w in re.findall(r"[a-z]{4,}", re.sub(r"\\[a-z]", " ", p.lower())))
    return words, tuple(sorted(w for w in words if len(w) >= 5))


@functools.cache
def _spell_checker() -> Any:
    try:
        from spellchecker import SpellChecker
    except ImportError:  # pragma: no cover - a dependency of medhive
        return None
    return SpellChecker(distance=1)


# a family's words as the name of a drill or of a risk a model scores: "a choking drill in first aid class", "the
# cardiac arrest simulation", "is there a stroke-risk model?" (emerg7); a later use of the words still counts
_NAMES_A_THING = re.compile(r"(\s*(drills?|simulations?|scenarios?)|[- ]risk(?! of\b))\b", re.I)


def _first(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    m = pattern.search(text)
    while m is not None and _NAMES_A_THING.match(text, m.end()):
        m = pattern.search(text, m.end())
    return m


def _match_as_written(text: str) -> tuple[str, re.Match[str]] | None:
    for name, pattern in _EMERGENCY_RE:
        if (m := _first(pattern, text)) is not None:
            if name not in _ALWAYS and _not_happening(name, m, text):
                continue
            if name == "self-harm" and _self_harm_not_now(text):
                continue
            if name not in _ALWAYS and _ABOUT_SYSTEM.search(text) and not _PERSON_OR_NOW.search(text):
                continue  # a question about the documentation that quotes a symptom
            if name not in _ALWAYS and _about_a_past_event(text):
                continue  # what a model can tell of a past or a future event, nothing happening now
            if name in _NEEDS_PERSON and not _SOMEONE_ELSE.search(text):
                continue  # "our node is not responding", "I got no answer, the API is not responding"
            return name, m
    if (m := _farewell(text)) is not None:
        return "self-harm", m
    return None

_SYMPTOM = re.compile(
    r"\b(i('ve| have| had)|i'm having|i am having|i feel|i've been|my (child|son|daughter|husband|wife|mother|father|"
    r"baby)( has|'s)?|symptoms?)\b.*\b(pain|cough|fever|lump|breath|dizz|palpitat|vision|headache|tired|ache|"
    r"rash|swelling|bleed|skipped|racing|flutter|sore|nause|vomit|short)|\b(do|could|might|can) (i|he|she|they) have\b(?! to\b)|"
    r"\bam i (sick|ill|okay|ok)\b|\bis it (cancer|pneumonia|glaucoma|serious)\b|"
    r"\bmy (heart|chest|eyes?|eyesight|vision|breasts?|lungs?|breathing|cough|skin|kidneys?|blood sugar|voice)\b.{0,40}"
    r"\b(keeps?|feels?|hurts?|getting|racing|skipp|pound|flutter|blurr|worse|weird|strange|wrong|sore)", re.I)

# Individual medical advice: a treatment, a medicine or its dose, or a clinician to see. MedHive's documents do not
# and must not give it, whatever condition the question names ("first-line treatment for pneumonia" names a
# model's condition and is still not a question about the model). A question about using the product in care
# ("can I use the pneumonia output to decide whether to start antibiotics?") is a documentation question.
_TREATMENT = re.compile(
    r"\b(doses?|dosage|dosing|how many (mg|milligrams?|ml|pills|tablets|capsules))\b|"
    r"\b(first[- ]line|second[- ]line|best|right|recommended|standard|usual|correct|preferred) (\w+ )?(treatment|therapy|"
    r"medication|medicine|drug|antibiotics?|painkillers?|anti\w+s?|\w+ inhibitors?|statins?|diuretics?|"
    r"beta[- ]blockers?|blockers?|steroids?|inhalers?)\b|\b(treatment|therapy|medication|medicine|cure|remedy|antibiotics?) (for|of|against)\b|"
    r"\bhow (do i|do you|to|should i|should we|can i|can we) (treat|cure|manage)\b|"
    r"\b(what|which) (antibiotic|drug|medication|medicine|pill|painkiller)s? (should|can|do|to|is|are|works?|would|will)\b|"
    r"\bshould (i|he|she|we|they) (take|stop taking|start taking|keep taking)\b|"
    r"\bshould (i|he|she|we|they) (start|stop|switch|begin|increase|reduce|double)\b.{0,20}\b(an?|the|my|his|her|on)\b|"
    r"\b(current|latest|clinical|official)? ?guidelines? (for|on)\b|\bguidelines?\b.{0,20}\b(recommend|say|suggest|advise)\b|"
    r"\b(start|starting|begin|beginning)\b.{0,10}\b(an? |the )?(statins?|insulin|antibiotics?|blood thinners?|anticoagulants?|"
    r"beta[- ]blockers?|ace inhibitors?|antidepressants?|chemo\w*)\b|"
    r"\bhow (much|many)\b.{0,30}\b(should|can|may)\b.{0,20}\b(take|give)\b(?! part)|"
    r"\b(prescribe|prescription for)\b|\bside effects? of\b|"
    # when to see a patient again: "what follow-up interval do you recommend", "how often should he be screened"
    r"\bfollow[- ]?up (intervals?|schedules?|plans?|frequency)\b|\bhow often should (i|he|she|they|we|the patient|"
    r"my \w+) (be )?(seen|checked|screened|tested|followed up|rechecked)\b", re.I)
_REFERRAL = re.compile(
    r"\b(recommend|suggest|find)\b.{0,20}\b(doctors?|gps?|physicians?|specialists?|surgeons?|\w+ologists?|"
    r"\w+iatrists?|pharmac(y|ies|ists?)|dentists?)\b|\b(doctors?|gps?|specialists?|\w+ologists?|hospitals?|clinics?|"
    r"practices?|a&e|emergency rooms?|er)\b.{0,40}\b(near me|nearby|in my area|in town|close to me|around here)\b|"
    # "which hospital has the best cardiology department?": choosing where to be treated
    r"\b(which|what|the) (hospital|clinic|doctor|surgeon|specialist)s? (has|have|is|are) the best\b|"
    r"\bbest (\w+ )?(hospital|clinic|doctor|surgeon|specialist|cardiologist|department)s? (near|in|for (me|my))\b", re.I)
_ABOUT_PRODUCT = re.compile(r"\b(models?|outputs?|results?|predictions?|predicted|scores?|probabilit(y|ies)|medhive|"
                            r"assistant|reports?|explanations?|labels?|data ?sets?|data|inputs?|features?|training|api|samples?|images?|"
                            r"rows?|records?|tiers?|quotas?|nodes?|supernodes?|rounds?|jobs?|servers?|keys?|accounts?|federat\w*|privacy|"
                            r"aggregation)\b",
                            re.I)


# stopping, starting or skipping one's own medicine, even because of a model's output ("the diabetes model said
# I'm fine, can I stop taking my metformin?"): advice whatever product words the question also uses
_OWN_TREATMENT_CHANGE = re.compile(
    r"\b(can|could|may|should|do|must) (i|he|she|we|they|my \w+) (now |just |safely )?(stop|quit|skip|start|come off|"
    r"cut down( on)?|reduce|lower|double) (taking |using )?(my|his|her|their|the|our)? ?(\w+ ){0,2}" + _MEDICINES + r"|"
    r"\b(stop|quit|skip) taking (my|his|her|their|the|this|that|it|them)\b(?! part)|"
    r"\bcome off (my|his|her|their) (\w+ ){0,2}" + _MEDICINES + r"|\b(stop|quit|skip) (taking )?(my|his|her|their) "
    r"(metformin|insulin|statins?|inhalers?|blood thinners?|warfarin|chemo\w*|antibiotics?|" + _MEDICINES + r")|"
    # taking one medicine with another: "can I take ibuprofen with my lisinopril?"
    r"\b(can|could|may|should) (i|he|she|we|they|my \w+) (safely )?(take|have|give (him|her|them))\b.{0,40}"
    r"\b(with|alongside|together with|while (on|taking))\b (my|his|her|their|the)\b", re.I)


# "did the parkinsons voice test. it says healthy. can I stop worrying now?": a reassuring result reported, with
# nothing described happening; the learned router's emergency is not taken for it (a rule emergency still is)
_REASSURING_RESULT = re.compile(r"\b(it|the (model|result|test|app|space|report|score|prediction)|medhive)\b.{0,15}"
                                r"\b(says?|said|shows?|showed|came back|gave|returned|is|was)\b.{0,10}\b(healthy|normal|"
                                r"negative|fine|no disease|benign|low( risk)?|nothing)\b", re.I)


def reports_a_reassuring_result(text: str) -> bool:
    return bool(_REASSURING_RESULT.search(text))


# "a pneumonia job has been running for hours and looks stuck, can I kill it safely?": a system in trouble, nobody
# else named and no word of a body or a symptom; the learned router's emergency is not taken for it
_SYSTEM_TROUBLE = re.compile(r"\b(jobs?|process(es)?|nodes?|servers?|rounds?|containers?|services?|runs?|pipelines?|"
                             r"aggregat\w+|superlinks?|supernodes?|training|queues?|uploads?|scripts?|apps?)\b.{0,60}"
                             r"\b(stuck|hung|hangs|hanging|frozen|freezes|kill|restart|cancel|crash\w*|dead|died|down)\b|"
                             r"\b(kill|restart|cancel)\b.{0,30}\b(jobs?|process(es)?|nodes?|servers?|rounds?|runs?|it)\b", re.I)
_BODY = re.compile(r"\b(pain|hurts?|breath\w*|bleed\w*|blood|chest|heart|faint\w*|dizz\w*|unconscious|collaps\w*|seiz\w*|"
                   r"burn\w*|shock|sick|vomit\w*|numb|swollen|rash|fever|temperature|pills?|tablets?|overdose|suicid\w*|"
                   r"head|arm|leg|skin|lips?|face|throat)\b", re.I)


def system_trouble(text: str) -> bool:
    """The text is about a system in trouble, names nobody but the writer and no body or symptom."""
    return bool(_SYSTEM_TROUBLE.search(text) and not _SOMEONE_ELSE.search(text) and not _BODY.search(text))


def learned_emergency_allowed(text: str) -> bool:
    """Whether the learned router's emergency may stand for `text` (the session asks, a rule emergency needs no
    leave): not for a question about one's own medicine, a message that names no person and nothing now, an event
    over or school work, a reassuring result reported, or a system in trouble."""
    return (names_someone_or_now(text) and not own_treatment_change(text) and not settled(text)
            and not reports_a_reassuring_result(text) and not system_trouble(text))


def names_someone_or_now(text: str) -> bool:
    """The text names a person (the writer, someone near them, a patient) or the present ("now", "tonight",
    "help"): what a message describing an emergency happening to someone does (138 of the 139 emergency
    questions of the question sets name a person, the last "a pregnant woman")."""
    return bool(_PERSON_OR_NOW.search(text) or _SOMEONE_ELSE.search(text) or _SOON.search(text) or _AT_WORK.search(text))


def own_treatment_change(text: str) -> bool:
    """The text asks whether to stop, start or change one's own (or a relative's) medicine."""
    return bool(_OWN_TREATMENT_CHANGE.search(text))


def medical_advice(text: str) -> bool:
    """The text asks for individual medical advice (a treatment, a medicine or dose, a clinician to see) and
    not about MedHive itself, or asks whether to change one's own medicine whatever else it names."""
    if _OWN_TREATMENT_CHANGE.search(text):
        return True
    return bool((_TREATMENT.search(text) or _REFERRAL.search(text)) and not _ABOUT_PRODUCT.search(text))


_CONDITIONS = r"(pneumonia|glaucoma|(?:breast )?cancer|malignan\w*|arrhythmia|a tumou?r|the disease)"
# "you have X" style verdicts the assistant must never state about a user
_VERDICT = [
    (re.compile(r"\byou (definitely |probably |likely |clearly )?(don't|do not) have\s+(an? )?" + _CONDITIONS, re.I),
     "the model's output does not point to {0}, which does not rule it out: only a clinician can"),
    (re.compile(r"\byou (definitely |probably |likely |clearly )?(have|are suffering from)\s+(an? )?" + _CONDITIONS, re.I),
     "the model's output points to {0}, which only a clinician can confirm or rule out"),
    (re.compile(r"\b(your|the) diagnosis is\b", re.I), "the model's output is"),
    (re.compile(r"\byou are diagnosed with\b", re.I), "the model's output points to"),
    (re.compile(r"\bthis confirms\b", re.I), "this is consistent with"),
]
_PREDICTION_TALK = re.compile(r"\b(probabilit(y|ies)|confidence|the model's output|its output is|predicted label)\b", re.I)

_REDACTIONS = [
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[e-mail]"),
    (re.compile(r"\b(my|patient'?s?|his|her) name is\s+[A-Z][\w'-]+(\s+[A-Z][\w'-]+)*", re.I), r"\1 name is [name]"),
    (re.compile(r"\b(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])\b"), "[date]"),
    (re.compile(r"\b(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:19|20)?\d\d\b"), "[date]"),
    (re.compile(r"\b(born|dob|date of birth)\b[:\s]+[\w ,./-]{4,20}", re.I), r"\1 [date]"),
    # an identifier holds a digit: "insurance 88231-A" is one, "insurance reimburse", "record number" are words
    (re.compile(r"\b(mrn|nhs|ssn|record|patient id|insurance)( (number|no\.?|#|id))?( (is|was))?[:#=\s]+(?=[A-Z-]*\d)[A-Z0-9-]{4,}", re.I),
     r"\1 [id]"),
    (re.compile(r"(?<![\w.])\+?\d[\d ()-]{7,}\d(?![\w.])"), "[phone]"),
]


def emergency(text: str) -> str | None:
    """The kind of emergency the text describes, or None."""
    found = _match(text)
    return found[0] if found else None


def emergency_words(text: str) -> str | None:
    """The words of `text` that describe the emergency (to answer in the user's own words), or None."""
    found = _match(text)
    return found[1].group(0).strip() if found else None


def symptom_question(text: str) -> bool:
    return bool(_SYMPTOM.search(text))


def guard(text: str, *, about_prediction: bool = False) -> str:
    """Reword diagnosis-like statements; add the not-a-diagnosis line when the answer is about a prediction
    (`about_prediction`, or wording such as "probability" / "the model's output")."""
    out = text
    for pattern, replacement in _VERDICT:
        def _sub(m: re.Match[str], r: str = replacement) -> str:
            return r.format(m.group(m.lastindex)) if "{0}" in r else r
        out = pattern.sub(_sub, out)
    if (about_prediction or _PREDICTION_TALK.search(out)) and "not a diagnosis" not in out.lower():
        out = f"{out.rstrip()}\n\n{NOT_A_DIAGNOSIS}"
    return out


def redact(text: str) -> str:
    """The text with identifiers replaced by placeholders (what is kept in memory or sent out)."""
    out = text
    for pattern, replacement in _REDACTIONS:
        out = pattern.sub(replacement, out)
    return out
