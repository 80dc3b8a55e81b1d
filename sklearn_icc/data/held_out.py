"""The held-out sets: labelled texts written after the conditioned reading's design, to test it.

Each was written blind (most by a helper that saw no measurement) and committed with its
benchmark conditions before anything was run on it; the docstring of each says whether it
has been read since (``docs/texts.rst``).
"""

from __future__ import annotations

from ._tables import read_table


TRAVEL_REVIEWS_FILE = "travel_reviews.csv"
TRAVEL_COLUMNS = ["text", "place", "sentiment", "traveller"]


def load_travel_reviews():
    """Load 60 travel reviews labelled by place, by sentiment and by traveller.

    Three places (``"hotel"``, ``"museum"``, ``"restaurant"``) crossed with two
    sentiments (``"negative"``, ``"positive"``) and two kinds of traveller
    (``"business"``, ``"family"``), 5 reviews in each of the 12 cells: one or two
    sentences each, written for sklearn-icc as a **held-out** set. It was written after the
    conditioned reading's design was fixed on the two other sets, and no design choice is
    tuned on it; the benchmarks report it apart (``docs/texts.rst``). Released under
    CC0-1.0, as the file's header says.

    Returns
    -------
    texts : list of str
        The 60 reviews, grouped by place, sentiment, then traveller (shuffle them before use).
    place : ndarray of str, shape (60,)
    sentiment : ndarray of str, shape (60,)
    traveller : ndarray of str, shape (60,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_travel_reviews
    >>> texts, place, sentiment, traveller = load_travel_reviews()
    >>> len(texts), np.unique(place).tolist(), np.unique(sentiment).tolist(), np.unique(traveller).tolist()
    (60, ['hotel', 'museum', 'restaurant'], ['negative', 'positive'], ['business', 'family'])
    """
    return read_table(TRAVEL_REVIEWS_FILE, TRAVEL_COLUMNS)


FRIEND_MESSAGES_FILE = "friend_messages.csv"
FRIEND_COLUMNS = ["text", "subject", "emotion", "request"]


def load_friend_messages():
    """Load 72 messages to a friend labelled by subject, by emotion and by request.

    Three subjects (``"car"``, ``"garden"``, ``"pet"``) crossed with three emotions
    (``"excited"``, ``"sad"``, ``"scared"``) and two requests (``"help"``: the writer
    asks the friend for help, ``"news"``: the writer only shares news), 4 messages in
    each of the 18 cells: one or two sentences each, written for sklearn-icc as a
    second **held-out** set, before the question for clause conditions was measured on
    it; no design choice is tuned on it (``docs/texts.rst``). Released under CC0-1.0,
    as the file's header says.

    Returns
    -------
    texts : list of str
        The 72 messages, grouped by subject, emotion, then request (shuffle them before use).
    subject : ndarray of str, shape (72,)
    emotion : ndarray of str, shape (72,)
    request : ndarray of str, shape (72,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_friend_messages
    >>> texts, subject, emotion, request = load_friend_messages()
    >>> len(texts), np.unique(subject).tolist(), np.unique(emotion).tolist(), np.unique(request).tolist()
    (72, ['car', 'garden', 'pet'], ['excited', 'sad', 'scared'], ['help', 'news'])
    """
    return read_table(FRIEND_MESSAGES_FILE, FRIEND_COLUMNS)


COLLEAGUE_MESSAGES_FILE = "colleague_messages.csv"
COLLEAGUE_COLUMNS = ["text", "subject", "emotion", "urgency"]


def load_colleague_messages():
    """Load 72 messages to a work colleague labelled by subject, by emotion and by urgency.

    Three subjects (``"lunch"``: team lunches, the kitchen and food, ``"parking"``: the car
    park and its spaces, ``"printer"``: the office printer and copier) crossed with three
    emotions (``"annoyed"``, ``"grateful"``, ``"worried"``) and two urgencies
    (``"later"``: the message can wait, with no deadline, ``"urgent"``: it needs action or
    an answer today or right now), 4 messages in each of the 18 cells: one or two
    sentences each, written for sklearn-icc as a third **held-out** set, before the
    opener rule was measured on it; no design choice is tuned on it
    (``docs/texts.rst``). Released under CC0-1.0, as the file's header says.

    Returns
    -------
    texts : list of str
        The 72 messages, grouped by subject, emotion, then urgency (shuffle them before use).
    subject : ndarray of str, shape (72,)
    emotion : ndarray of str, shape (72,)
    urgency : ndarray of str, shape (72,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_colleague_messages
    >>> texts, subject, emotion, urgency = load_colleague_messages()
    >>> len(texts), np.unique(subject).tolist(), np.unique(emotion).tolist(), np.unique(urgency).tolist()
    (72, ['lunch', 'parking', 'printer'], ['annoyed', 'grateful', 'worried'], ['later', 'urgent'])
    """
    return read_table(COLLEAGUE_MESSAGES_FILE, COLLEAGUE_COLUMNS)


NEIGHBOUR_POSTS_FILE = "neighbour_posts.csv"
NEIGHBOUR_COLUMNS = ["text", "subject", "tone", "purpose"]


def load_neighbour_posts():
    """Load 72 neighbourhood notice-board posts labelled by subject, by tone and by purpose.

    Four subjects (``"noise"``: loud music, parties, building work at night, ``"pets"``:
    lost and found animals, dogs and cats, ``"roads"``: potholes, parking on the street,
    traffic and road works, ``"rubbish"``: bins, litter, collection days and fly-tipping)
    crossed with three tones (``"angry"``, ``"thankful"``, ``"worried"``) and two purposes
    (``"notice"``: the post only informs or announces, with no question mark,
    ``"question"``: it asks the neighbours something and wants an answer), 3 posts in each
    of the 24 cells: one or two sentences each, written for sklearn-icc as a fourth
    **held-out** set, before anything was measured on it; no design choice is tuned on it
    (``docs/texts.rst``). Released under CC0-1.0, as the file's header says.

    Returns
    -------
    texts : list of str
        The 72 posts, grouped by subject, tone, then purpose (shuffle them before use).
    subject : ndarray of str, shape (72,)
    tone : ndarray of str, shape (72,)
    purpose : ndarray of str, shape (72,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_neighbour_posts
    >>> texts, subject, tone, purpose = load_neighbour_posts()
    >>> len(texts), np.unique(subject).tolist(), np.unique(tone).tolist(), np.unique(purpose).tolist()
    (72, ['noise', 'pets', 'roads', 'rubbish'], ['angry', 'thankful', 'worried'], ['notice', 'question'])
    """
    return read_table(NEIGHBOUR_POSTS_FILE, NEIGHBOUR_COLUMNS)


STUDENT_POSTS_FILE = "student_posts.csv"
STUDENT_COLUMNS = ["text", "subject", "emotion", "urgency"]


def load_student_posts():
    """Load 72 student forum posts labelled by subject, by emotion and by urgency.

    Four school subjects (``"biology"``: cells, DNA, organs and evolution, ``"history"``:
    wars, empires, revolutions and monarchs, ``"maths"``: equations, probability, calculus
    and geometry, ``"music"``: chords, keys, rhythm and performing) crossed with three
    emotions (``"confused"``, ``"excited"``, ``"stressed"``) and two urgencies
    (``"not_urgent"``: no time pressure at all, asked out of curiosity, for next term or
    whenever someone has time, ``"urgent"``: a deadline or exam today, tonight or tomorrow
    morning, and the writer needs an answer now), 3 posts in each of the 24 cells: one or
    two sentences each, written for sklearn-icc as a fifth **held-out** set, before
    anything was measured on it; no design choice is tuned on it (``docs/texts.rst``).
    Released under CC0-1.0, as the file's header says.

    Returns
    -------
    texts : list of str
        The 72 posts, grouped by subject, emotion, then urgency (shuffle them before use).
    subject : ndarray of str, shape (72,)
    emotion : ndarray of str, shape (72,)
    urgency : ndarray of str, shape (72,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_student_posts
    >>> texts, subject, emotion, urgency = load_student_posts()
    >>> len(texts), np.unique(subject).tolist(), np.unique(emotion).tolist(), np.unique(urgency).tolist()
    (72, ['biology', 'history', 'maths', 'music'], ['confused', 'excited', 'stressed'], ['not_urgent', 'urgent'])
    """
    return read_table(STUDENT_POSTS_FILE, STUDENT_COLUMNS)


APP_REVIEWS_FILE = "app_reviews.csv"
APP_COLUMNS = ["text", "app", "sentiment", "request"]


def load_app_reviews():
    """Load 72 app-store reviews of mobile apps labelled by app, by sentiment and by request.

    Four kinds of app (``"banking"``: transfers, balances, cards and bills, ``"fitness"``:
    workouts, steps, runs and heart rate, ``"game"``: levels, characters, lives and ads,
    ``"weather"``: forecasts, rain radar, alerts and widgets) crossed with three sentiments
    (``"negative"``, ``"mixed"``: clearly both praise and complaint, ``"positive"``) and two
    requests (``"feature"``: the writer asks for a new feature or a change, ``"none"``: no
    request at all, only an opinion), 3 reviews in each of the 24 cells: one or two
    sentences each, written for sklearn-icc as a sixth **held-out** set, before anything
    was measured on it; after its first run, "app" joined the words that route a condition
    as content-like, so that condition is no longer held out (``docs/texts.rst``).
    Released under CC0-1.0, as the file's header says.

    Returns
    -------
    texts : list of str
        The 72 reviews, grouped by app, sentiment, then request (shuffle them before use).
    app : ndarray of str, shape (72,)
    sentiment : ndarray of str, shape (72,)
    request : ndarray of str, shape (72,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_app_reviews
    >>> texts, app, sentiment, request = load_app_reviews()
    >>> len(texts), np.unique(app).tolist(), np.unique(sentiment).tolist(), np.unique(request).tolist()
    (72, ['banking', 'fitness', 'game', 'weather'], ['mixed', 'negative', 'positive'], ['feature', 'none'])
    """
    return read_table(APP_REVIEWS_FILE, APP_COLUMNS)


RESTAURANT_MESSAGES_FILE = "restaurant_messages.csv"
RESTAURANT_COLUMNS = ["text", "subject", "emotion", "formality"]


def load_restaurant_messages():
    """Load 72 customer messages to a restaurant labelled by subject, by emotion and by formality.

    Four subjects (``"booking"``: reservations, tables, times and party size, ``"food"``:
    dishes, taste, the menu, portions and allergies, ``"service"``: waiters, staff, waiting
    time and how the customer was treated, ``"venue"``: the room, noise, parking, music,
    cleanliness, accessibility and decor) crossed with three emotions (``"angry"``,
    ``"grateful"``, ``"worried"``: anxious about something that may go wrong) and two
    formalities (``"casual"``: chatty, with contractions, slang and lower case, ``"formal"``:
    polite, complete sentences, letter-like openings and sign-offs), 3 messages in each of
    the 24 cells: one or two sentences each (emails, booking-site messages and comments),
    written for sklearn-icc as a seventh **held-out** set, before anything was measured on
    it; no design choice is tuned on it (``docs/texts.rst``). Released under CC0-1.0, as
    the file's header says.

    Returns
    -------
    texts : list of str
        The 72 messages, grouped by subject, emotion, then formality (shuffle them before use).
    subject : ndarray of str, shape (72,)
    emotion : ndarray of str, shape (72,)
    formality : ndarray of str, shape (72,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_restaurant_messages
    >>> texts, subject, emotion, formality = load_restaurant_messages()
    >>> len(texts), np.unique(subject).tolist(), np.unique(emotion).tolist(), np.unique(formality).tolist()
    (72, ['booking', 'food', 'service', 'venue'], ['angry', 'grateful', 'worried'], ['casual', 'formal'])
    """
    return read_table(RESTAURANT_MESSAGES_FILE, RESTAURANT_COLUMNS)


PARENT_MESSAGES_FILE = "parent_messages.csv"
PARENT_COLUMNS = ["text", "subject", "emotion", "request"]


def load_parent_messages():
    """Load 72 messages from parents to their child's teacher labelled by subject, by emotion and by request.

    Four subjects (``"homework"``: assignments, reading logs, projects and marking,
    ``"health"``: illness, medication, injuries and absence for a doctor's visit, ``"trip"``:
    school outings, excursions, consent forms and packed lunches for a day out,
    ``"behaviour"``: the child's conduct, friendships, fights, disruption and bullying)
    crossed with three emotions (``"annoyed"``: irritated or dissatisfied, ``"thankful"``:
    appreciative, ``"anxious"``: worried or nervous about something) and two requests
    (``"asks"``: the parent asks the teacher for something, a reply, a meeting, an action or
    information, ``"informs"``: the parent only tells the teacher something or gives an
    opinion, with no question), 3 messages in each of the 24 cells: one or two sentences
    each (emails, school-app notes and class-portal messages), written for sklearn-icc as an
    eighth **held-out** set, before anything was measured on it; its first run was the
    shipped default's, with nothing chosen on it. Released under CC0-1.0, as the file's header says.

    Returns
    -------
    texts : list of str
        The 72 messages, grouped by subject, emotion, then request (shuffle them before use).
    subject : ndarray of str, shape (72,)
    emotion : ndarray of str, shape (72,)
    request : ndarray of str, shape (72,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_parent_messages
    >>> texts, subject, emotion, request = load_parent_messages()
    >>> len(texts), np.unique(subject).tolist(), np.unique(emotion).tolist(), np.unique(request).tolist()
    (72, ['behaviour', 'health', 'homework', 'trip'], ['annoyed', 'anxious', 'thankful'], ['asks', 'informs'])
    """
    return read_table(PARENT_MESSAGES_FILE, PARENT_COLUMNS)


TENANT_MESSAGES_FILE = "tenant_messages.csv"
TENANT_COLUMNS = ["text", "subject", "sentiment", "urgency"]


def load_tenant_messages():
    """Load 72 messages from tenants to their landlord labelled by subject, by sentiment and by urgency.

    Four subjects (``"repair"``: something broken or faulty, the boiler, a leak, a lock, an
    appliance or mould, ``"rent"``: payments, deposits, increases, late fees and receipts,
    ``"neighbours"``: other residents, noise, smells, shared spaces and disputes, ``"moving"``:
    moving in or out, notice, keys, inspections, ending or renewing the lease) crossed with
    three sentiments (``"negative"``: unhappy or complaining, ``"neutral"``: matter-of-fact,
    no feeling shown, ``"positive"``: pleased or appreciative) and two urgencies
    (``"urgent"``: needs action today or right now, a danger, a flood, a lock-out or a
    deadline today, ``"routine"``: no time pressure at all), 3 messages in each of the 24
    cells: one or two sentences each (emails, texts and tenant-portal notes), written for
    sklearn-icc as a ninth **held-out** set, before anything was measured on it, and first
    read as the pre-registered test of a larger model (Qwen2.5-Coder-1.5B-Instruct against
    the default). Released under CC0-1.0, as the file's header says.

    Returns
    -------
    texts : list of str
        The 72 messages, grouped by subject, sentiment, then urgency (shuffle them before use).
    subject : ndarray of str, shape (72,)
    sentiment : ndarray of str, shape (72,)
    urgency : ndarray of str, shape (72,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_tenant_messages
    >>> texts, subject, sentiment, urgency = load_tenant_messages()
    >>> len(texts), np.unique(subject).tolist(), np.unique(sentiment).tolist(), np.unique(urgency).tolist()
    (72, ['moving', 'neighbours', 'rent', 'repair'], ['negative', 'neutral', 'positive'], ['routine', 'urgent'])
    """
    return read_table(TENANT_MESSAGES_FILE, TENANT_COLUMNS)


PARK_MESSAGES_FILE = "park_messages.csv"
PARK_COLUMNS = ["text", "subject", "emotion", "request"]


def load_park_messages():
    """Load 72 messages from visitors to a national park's office labelled by subject, by emotion and by request.

    Four subjects (``"camping"``: campsites, pitches, bookings, showers and fires,
    ``"trail"``: paths, routes, climbs, bridges, closures, waymarks and signs,
    ``"wildlife"``: animals, birds, bears, snakes and insects, ``"parking"``: car parks,
    fees, tickets, passes and the shuttle) crossed with three emotions (``"delighted"``:
    thrilled or full of praise, ``"frustrated"``: annoyed or fed up, ``"nervous"``: worried,
    uneasy or scared) and two requests (``"asks"``: the visitor asks the office a question
    or for something, ``"reports"``: the visitor only tells the office something, with no
    question and no request), 3 messages in each of the 24 cells: one or two sentences each
    (emails, web-form notes and texts from hikers, campers and day-trippers), written for
    sklearn-icc as a tenth **held-out** set, blind, by a helper, before anything was measured
    on it, and kept unmeasured for a later pre-registered test. Released under CC0-1.0, as
    the file's header says.

    Returns
    -------
    texts : list of str
        The 72 messages, grouped by subject, emotion, then request (shuffle them before use).
    subject : ndarray of str, shape (72,)
    emotion : ndarray of str, shape (72,)
    request : ndarray of str, shape (72,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_icc.data import load_park_messages
    >>> texts, subject, emotion, request = load_park_messages()
    >>> len(texts), np.unique(subject).tolist(), np.unique(emotion).tolist(), np.unique(request).tolist()
    (72, ['camping', 'parking', 'trail', 'wildlife'], ['delighted', 'frustrated', 'nervous'], ['asks', 'reports'])
    """
    return read_table(PARK_MESSAGES_FILE, PARK_COLUMNS)
