"""The `bot` command. The only module that prints or exits; everything else raises BotError."""
from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

from .errors import BotError
from .posting import settings as settings_module  # light: no numpy, no network


def _temperatures(text: str) -> list[float]:
    try:
        return list(settings_module.temperatures("temperatures", text))
    except BotError as e:
        raise argparse.ArgumentTypeError(str(e).replace("temperatures=", "", 1)) from None


def _whole(minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, not {value}")
        return value
    return parse


_positive = _whole(1)
_seed = _whole(0)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("songs-x-arxiv-bot")
    except metadata.PackageNotFoundError:
        return "unknown (not installed; run pip install -e .)"


def _pin_blas(threads: int) -> None:
    """numpy's BLAS pool at `threads` (BLAS_THREADS): the sampler's matrices are small, and more
    threads only add waiting on a busy host (bench/README.md)."""
    from .model.threads import limit_blas

    limit_blas(threads)


def _train_option_fields():
    """TrainOptions' fields that are command-line options (bot/training/options.py)."""
    from dataclasses import fields

    from .training.options import TrainOptions

    return [f for f in fields(TrainOptions) if f.metadata.get("cli", True)]


def train_options(args: argparse.Namespace):
    """The TrainOptions a parsed `bot train` command line asks for."""
    from .training.options import TrainOptions

    values = {f.name: getattr(args, f.name) for f in _train_option_fields()}
    return TrainOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainOptions field, its type from the field's, its help and default from it."""
    from typing import get_type_hints

    from .training.options import TrainOptions

    kinds = get_type_hints(TrainOptions)
    for f in _train_option_fields():
        flag, kind, meta = "--" + f.name.replace("_", "-"), kinds[f.name], f.metadata
        if kind is bool:
            parser.add_argument(flag, action="store_true", help=meta["help"])
            continue
        if kind is tuple:
            convert, default = _temperatures, list(f.default)
        elif meta["positive"]:
            convert, default = _positive, f.default
        else:
            convert, default = (kind if kind in (int, float, str, Path) else str), f.default
        parser.add_argument(flag, type=convert, default=default, choices=meta["choices"], help=meta["help"])


def cmd_train(args) -> int:
    from .training.train import train

    options = train_options(args)
    command = "bot " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    result = train(options, report=print, command=command)
    print(f"wrote {result.paths.weights}, {result.paths.vocab}, {result.paths.config} "
          f"in {result.seconds:.0f} s; final loss {result.losses[-1]:.4f}")
    return 0


def _load(model_dir: Path):
    from .runtime import Runtime

    return Runtime.load(model_dir)


def _candidate_json(c) -> dict:
    """A pool's candidate (curation.candidates.Candidate) or a stored one (store.PooledCandidate)."""
    verdicts = getattr(c, "verdicts", None)
    return {"text": c.text, "score": c.score, "temperature": c.temperature, "passed": getattr(c, "passed", True),
            "rejection": getattr(c, "rejection", ""), "mixedness": verdicts["mixedness"].detail if verdicts else None,
            "features": c.features}


def _why(c, runtime) -> str:
    """The candidate's features that moved the curator's score most."""
    return ", ".join(f"{name} {value:+.2f}" for name, value in runtime.evidence.curator.explain(c.features))


HOW = {"curator": "the curator's pick", "learned": "the learned ranking's pick (a draw from what the audience taught)",
       "explore": "exploration: a random one of the curator's top few"}


def _link_pair(choice, text: str, runtime) -> tuple[str, str] | None:
    """The word pair through which a pick drawn among linked candidates links, else None."""
    from .curation.seams import parse

    parsed = parse(text)
    if not (choice and choice.linked and parsed and runtime.evidence.linker is not None):
        return None
    found = runtime.evidence.linker.best_pair(parsed[1], parsed[2])
    return (found[0], found[1]) if found else None


def _how(choice, text: str, runtime) -> str:
    """How a pick was made, in words (choice: learning.Choice). The curator's pick is the best
    post of one shape drawn at random among its 30 best, of those whose halves link where any is
    allowed (learning.linked_first, one_shape), often not its first: say which shape, and through
    which word pair the halves link."""
    from .curation import learning, variety

    pair = _link_pair(choice, text, runtime)
    link = f"its halves link through {pair[0]} ~ {pair[1]}" if pair else ""
    shape = variety.shape_of(text)
    if choice.how != "curator" or shape == "other":
        return "; ".join(filter(None, [HOW[choice.how], link]))
    among = " whose halves link" if choice.linked else ""
    return "; ".join(filter(None, [
        f"the curator's pick: its best of the shape {shape}, drawn among its {learning.LEARNED_SHORTLIST} best"
        f"{among} so no formula wins every pool", link]))


def _rank(choice, candidates) -> dict[str, int]:
    """Where the pick ranks by the curator (1 = its first): among all candidates, and among those
    whose halves link when it was drawn among them (their 30 best are often far down the order)."""
    from .curation.links import LINK_FEATURE, LINK_MIN, NO_LINK

    rank = {"rank": choice.index + 1, "of": len(candidates)}
    if choice.linked:
        linked = [i for i, c in enumerate(candidates) if c.features.get(LINK_FEATURE, NO_LINK) >= LINK_MIN]
        rank.update(linked_rank=linked.index(choice.index) + 1, linked_of=len(linked))
    return rank


def _rank_words(rank: dict[str, int]) -> str:
    line = f"#{rank['rank']} of {rank['of']} by the curator"
    if "linked_rank" in rank:
        line += f", #{rank['linked_rank']} of the {rank['linked_of']} whose halves link"
    return line


def _preview_store(settings):
    """The worker's state for a preview: its database when there is one (only read), else an
    empty one in memory (what a new worker starts from). Returns (store, description)."""
    from .errors import NoStateYetError
    from .store import open_store

    try:
        store = open_store(settings.database_url, read_only=True)
    except NoStateYetError:
        return open_store("sqlite:///:memory:"), "none yet (as a new worker)"
    return store, store.description


def cmd_dry_run(args) -> int:
    """What the worker would post next, by the worker's own code: its pool (posting.daemon's
    pool_maker, the k-th pool sampled with seed SEED + k), its state (read), its learner's choice
    (curator's top few, variety, exploration); --posts N: the next N posts, one fresh pool each."""
    from dataclasses import replace

    from .posting import daemon
    from .curation.pipeline import Pool
    from .posting.worker import current_pool, pooled
    from .curation import variety

    settings = replace(args.settings, seed=args.seed, pool_size=args.pool_size,
                       temperatures=tuple(args.temperatures), model_dir=args.model_dir)
    runtime = _load(args.model_dir)
    store, state = _preview_store(settings)
    try:
        make_pool = daemon.pool_maker(settings, runtime, daemon.post_budget(settings, None))
        learner = daemon.learner_for(settings, store, runtime)
        history, posted = learner.history(), store.posted_canonicals()
        picks = []
        stored = current_pool(store, time.time(), settings.pool_refresh)  # what the worker posts from now
        for k in range(args.posts or 1):
            pool = Pool() if k == 0 and stored is not None else make_pool(posted)
            candidates = stored if k == 0 and stored is not None else pooled(pool)
            choice = learner.choose(candidates, history)
            pick = candidates[choice.index] if choice else None
            picks.append((pool, pick, choice))
            if k == 0:
                rank = _rank(choice, candidates) if choice else None  # the first pick among its pool's candidates
            if pick is not None:
                history, posted = history.after(pick.text, choice.how), posted | {pick.canonical}
    finally:
        store.close()
    if args.posts:
        return _print_posts(args, runtime, [(p, c) for _, p, c in picks], variety.report(
            [p.text for _, p, _ in picks if p is not None]))
    pool, pick, choice = picks[0]
    if stored is not None:  # the worker's current pool: its candidates passed every filter
        shown = stored[: args.show or 10]
        pool_line = f"pool: the worker's current one in {state} ({len(stored)} candidates not posted yet)"
    else:
        shown = pool.passing[: args.show or 10]
        pool_line = (f"pool (sampled now: seed {'random' if settings.seed is None else settings.seed}, "
                     f"temperatures {', '.join(f'{t:g}' for t in settings.temperatures)}):")
    would = _as_posted(pick, args)
    if args.json:
        json.dump({"model": str(runtime.paths.config), "state": state, "sampled": pool.sampled,
                   "stages": [{"name": s.name, "in": s.taken, "kept": s.kept, "dropped": dict(s.dropped)}
                              for s in pool.stages],
                   "passed": len(pool.passing), "rejections": dict(pool.rejections.most_common()),
                   "top": [_candidate_json(c) for c in shown], "would_post": would,
                   "content_warning": settings.content_warning or None,
                   "pool": "stored" if stored is not None else "sampled",
                   "how": choice.how if choice else None, "rank": rank,
                   "shape": variety.shape_of(pick.text) if pick else None,
                   "link": _link_pair(choice, pick.text, runtime) if pick else None},
                  sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    print(runtime.describe())
    print(f"state: {state}")
    print(pool_line)
    for stage in pool.stages:
        print("  " + stage.describe())
    print(f"top {len(shown)} by the curator:")
    for c in shown:
        print(f"  {c.score:.3f}  T={c.temperature:g}  {c.text}    [{_why(c, runtime)}]")
    if pick is None:
        print("would post: nothing (no candidate passed every filter; try a larger --pool-size)")
    else:
        print(f"would post: {would}    ({_rank_words(rank)}; {_how(choice, pick.text, runtime)})")
        if settings.content_warning:
            print(f"  behind the content warning {settings.content_warning!r} (POST_CONTENT_WARNING)")
    return 0


def _print_posts(args, runtime, picks, summary) -> int:
    from .curation import variety

    if args.json:
        json.dump({"model": str(runtime.paths.config),
                   "posts": [p and {"text": p.text, "score": p.score, "features": p.features, "how": c.how,
                                    "link": _link_pair(c, p.text, runtime)} for p, c in picks],
                   "variety": summary.__dict__}, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    for k, (p, c) in enumerate(picks, 1):
        pair = _link_pair(c, p.text, runtime) if p else None
        link = f", link {pair[0]} ~ {pair[1]}" if pair else ""
        print(f"{k:3d}. " + (f"{p.text}    [{p.score:.2f}; {HOW[c.how]}, shape {variety.shape_of(p.text)}{link}]" if p
                             else "(nothing: no candidate passed every filter)"))
    print(f"variety over {summary.posts} posts: top word {summary.top_word[0]!r} {summary.top_word[1]:.0%}, "
          f"top tag {summary.top_tag[0]!r} {summary.top_tag[1]:.0%}, top seam type "
          f"{summary.top_seam_type[0]!r} {summary.top_seam_type[1]:.0%}, mean Jaccard {summary.mean_jaccard:.3f}")
    return 0


def cmd_evaluate(args) -> int:
    from .training import evaluation

    if args.plot:
        _check_plot_target(args.plot)
    runtime = _load(args.model_dir)
    paths = runtime.paths
    rows = evaluation.evaluate(runtime, args.eval_temperatures, args.samples, args.eval_seed)
    print(evaluation.markdown(rows))
    if args.plot:
        evaluation.plot(rows, args.plot, f"{paths.config.name}: {args.samples} raw samples per temperature")
        print(f"\nwrote {args.plot}")
    return 0


def _check_plot_target(path: Path) -> None:
    """Before sampling for minutes: matplotlib is there and the PNG can be written."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise BotError("--plot needs matplotlib, which the worker does not install: "
                       "pip install -e '.[plot]' (or pip install matplotlib)") from None
    if not path.parent.is_dir():
        raise BotError(f"--plot {path}: directory {path.parent} does not exist")


def cmd_derive(args) -> int:
    from .training.derive import derive_from_files
    from .model.modelfile import ModelPaths

    paths = ModelPaths.in_directory(args.model_dir)
    ev = derive_from_files(args.song_titles, args.arxiv_titles, args.model_dir, paths.name)
    print(f"wrote word statistics ({len(ev.stats.song)} song and {len(ev.stats.arxiv)} arXiv words) and a "
          f"novelty index ({len(ev.novelty.titles)} titles, {len(ev.novelty.runs)} word runs) to {args.model_dir}")
    return 0


class _Redact(logging.Filter):
    """Keeps the access token out of every log line, whatever logged it."""

    def __init__(self, secret: str | None):
        super().__init__()
        self.secret = secret

    def filter(self, record):
        if self.secret:
            message = record.getMessage()
            redacted = settings_module.redact(message, self.secret)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


def _logging(settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(_Redact(settings.access_token))
    handler.addFilter(_Redact(settings.bluesky_app_password))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # A run skipped because the previous one still retries is expected, not news; job errors are
    # logged by the daemon's own listener.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


def cmd_run(args) -> int:
    from .posting import daemon

    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            logging.getLogger("bot").warning("second %s: exiting now", signal.Signals(signum).name)
            logging.shutdown()
            os._exit(1)
        logging.getLogger("bot").info("%s: finishing the current job, then stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings = _load_settings()
    _logging(settings)
    if _EARLY_SIGNALS:  # a stop request before the handler above was in place: stop before starting
        on_signal(_EARLY_SIGNALS[0], None)
    _pin_blas(settings.blas_threads)
    finished = daemon.run(settings, stop)
    logging.getLogger("bot").info("stopped")
    if not finished:  # a job is stuck in a call: do not wait for it (its post is settled at the next start)
        logging.shutdown()
        os._exit(0)
    return 0


def _state_summary(database_url: str) -> str:
    """What the state database holds; a check creates nothing (an SQLite file that does not exist
    yet is reported, not made)."""
    from .errors import NoStateYetError, SchemaVersionError
    from .posting.health import require_writable_state
    from .store import open_store

    require_writable_state(database_url)  # a check that passes means the worker can keep its state there
    path = settings_module.sqlite_path(database_url)  # absolute: sqlite:///x is relative to the working directory
    if path is not None and not path.exists():
        return f"sqlite {path} does not exist yet (the worker creates it at its first start)"
    try:
        store = open_store(database_url, read_only=True)
    except (NoStateYetError, SchemaVersionError) as e:
        return str(e)
    try:
        posts = store.posts()
    finally:
        store.close()
    return (f"{f'sqlite {path}' if path else store.description}, {sum(p.state == 'posted' for p in posts)} posts, "
            f"{sum(p.state == 'pending' for p in posts)} unfinished")


def cmd_stats(args) -> int:
    """Posts and engagement by seam, tag, length and temperature; what the learner has learned."""
    from .posting import stats
    from .errors import NoStateYetError
    from .posting.learner import shipped_curator
    from .store import open_store

    settings = _load_settings()
    if args.plot:
        _check_plot_target(args.plot)
    prior = shipped_curator(settings.model_dir)
    try:
        store = open_store(settings.database_url, read_only=True)
    except NoStateYetError as e:
        raise NoStateYetError(f"no state yet: {e}") from None
    try:
        print(stats.report(store, prior, settings.learning))
        if args.plot:
            stats.plot(store, prior, args.plot)
            print(f"\nwrote {args.plot}")
    finally:
        store.close()
    return 0


def cmd_queue(args) -> int:
    """`bot queue`: the approval queue's open slots and candidates; approve N, reject, edit TEXT
    act on the same table as the owner's answers (bot/posting/approval.py)."""
    from .errors import NoStateYetError
    from .posting import approval
    from .store import open_store

    settings = _load_settings()
    now = time.time()
    if args.queue_command is None:
        try:
            store = open_store(settings.database_url, read_only=True)
        except NoStateYetError as e:
            raise NoStateYetError(f"no state yet: {e}") from None
        try:
            lines = approval.queue_lines(store, now, settings.interval)
        finally:
            store.close()
        print("\n".join(lines))
        return 0
    try:  # an answer needs a queue: never create the state database for one
        open_store(settings.database_url, read_only=True).close()
    except NoStateYetError as e:
        raise NoStateYetError(f"no state yet: {e}") from None
    check = None
    if args.queue_command == "edit":
        from .curation.evidence import Evidence
        from .model.modelfile import ModelPaths
        from .posting.daemon import post_budget

        evidence = Evidence.load(settings.model_dir, ModelPaths.in_directory(settings.model_dir).name)
        check = approval.edit_screen(evidence, post_budget(settings, None))
    store = open_store(settings.database_url)
    try:
        said = approval.queue_answer(store, settings, args.queue_command, now, number=getattr(args, "number", None),
                                     text=getattr(args, "text", None), slot=args.slot, check=check)
    finally:
        store.close()
    print(said)
    return 0


def cmd_check(args) -> int:
    from .posting.gateway import ReplyGateway

    settings = _load_settings()
    mastodon = "mastodon" in settings.networks
    if mastodon:
        settings_module.require_server(settings)
    if "bluesky" in settings.networks:
        settings_module.require_bluesky(settings)
    if mastodon:
        gateway = ReplyGateway(settings.api_base_url, settings.access_token, settings.request_timeout)
        account = gateway.account()
        limit = gateway.status_limit()
    state = _state_summary(settings.database_url)
    if mastodon:
        print(f"account: @{account.get('acct')} on {settings.api_base_url} ({account.get('url')})")
        print(f"bot flag: {'set' if account.get('bot') else 'NOT set (mark the account as a bot in its profile settings)'}")
        print(f"status limit: {limit if limit else 'unknown'} characters")
    if "bluesky" in settings.networks:
        _check_bluesky(settings)
    print(f"state: {state}")
    print(f"posting every {settings.interval:g} s, {settings.visibility}, language {settings.language}")
    print(f"etiquette: hashtags {' '.join(settings.post_hashtags) or 'none'}, quiet hours "
          f"{settings.quiet_hours or 'none'}, at most {settings.max_posts_per_day or 'any number of'} posts a day")
    if not settings.replies:
        print("replies: off (REPLIES=off)")
    elif mastodon and gateway.can_read_mentions():
        print(f"replies: on, mentions checked every {settings.reply_check:g} s (the token has read:notifications)")
    elif mastodon:
        print("replies: the token lacks read:notifications, so mentions go unanswered; run `bot register` again")
    if settings.replies and "bluesky" in settings.networks:
        print(f"replies on Bluesky: on, mentions checked every {settings.reply_check:g} s through the account's server")
    settings_module.require_mastodon(settings)  # after the report: the worker would refuse to start
    return 0


def cmd_health(args) -> int:
    """Exit 0 when a worker is running on the state database (it holds the database's lock), else
    1; either way, when it last posted. For container health checks and monitors."""
    from .posting import health

    report = health.probe(_load_settings().database_url)
    print("\n".join(report.lines(time.time())))
    return 0 if report.running else 1


def cmd_reply(args) -> int:
    from .posting import replies

    if not args.dry_run:
        raise BotError("`bot reply` only previews for now: add --dry-run, e.g. bot reply --dry-run \"@bot transformers\"")
    composer = replies.Composer(_load(args.model_dir), args.temperatures)
    request = composer.request(replies.mention_text(args.text))
    composed = composer(request, replies.filters.MAX_CHARS, seed=args.seed)
    if request.refused:
        print("request: refused by the safety filter (not echoed); a fresh mashup")
    else:
        print(f"request: {', '.join(request.words) or 'no usable words; a fresh mashup'}")
    if composed.mashup is None:
        print(f"would reply: nothing (no candidate of {composed.sampled} passed every filter)")
        return 0
    how = f"steered by {composed.steered_by!r}" if composed.steered_by else "fresh"
    print(f"{how}, {composed.sampled} sampled in {composed.seconds:.2f} s")
    print("would reply: " + replies.reply_text("you", composed.mashup))
    return 0


def cmd_register(args) -> int:
    from .posting import registration

    if args.bluesky:
        return cmd_register_bluesky(args)
    server = settings_module.server_url("--server", args.server.strip())
    if not server:
        raise BotError("--server is empty; pass your server's URL, e.g. https://mastodon.example")
    registration.check_env_target(args.env_file)  # before the single-use code is spent
    wanted = registration.scopes(args.bot_flag)
    client, url = registration.start(server, wanted)
    print("Open this URL while logged in as the bot's account, authorize, and copy the code:")
    print(url)
    if args.code:
        code = args.code
    else:
        try:
            code = input("code: ")
        except EOFError:  # stdin closed, or Ctrl-D at the prompt
            raise BotError("no code was entered (end of input); run `bot register` again, "
                           "or pass the code with --code") from None
    token = registration.finish(client, code, wanted)
    try:
        registration.write_env(args.env_file, {"MASTODON_API_BASE_URL": server, "MASTODON_ACCESS_TOKEN": token})
    except OSError as e:
        raise BotError(f"cannot write {args.env_file} ({e.strerror}); the code is spent: run `bot register` "
                       "again with another --env-file") from None
    print(f"wrote MASTODON_API_BASE_URL and MASTODON_ACCESS_TOKEN to {args.env_file} (mode 0600); "
          "`bot check` verifies them")
    if args.bot_flag:
        try:
            registration.set_bot_flag(server, token)
            print("marked the account as a bot (its profile's \"automated account\" flag)")
        except BotError as e:
            print(f"warning: {e}; tick \"This is an automated account\" in the profile settings instead")
    return 0


# -- bot panel: blind panels and the curator fitted to them (bot/training/panel) --------------------
def cmd_panel_draw(args) -> int:
    from .training.panel import sheets

    if args.bot_file:
        bot, source = sheets.read_titles(args.bot_file), {"seeds": None, "bot": str(args.bot_file)}
    else:
        report = lambda line: print(f"panel: {line}", file=sys.stderr)  # noqa: E731
        bot = sheets.bot_titles(args.bot_cmd, sheets.parse_seeds(args.seeds), report)
        source = {"seeds": args.seeds, "bot": args.bot_cmd}
    extra = {}
    for spec in args.group:
        name, sep, file = spec.partition("=")
        if not sep or not name or not file:
            raise BotError(f"bad --group {spec!r}: expected NAME=FILE")
        extra[name] = Path(file)
    drawn = sheets.draw(args.out, bot, args.songs, args.arxiv, None if args.no_best_of else args.best_of, extra,
                        args.raters, args.seed, args.baseline_n, args.rubric, source, args.force)
    groups = ", ".join(f"{g} {c}" for g, c in drawn.groups.items())
    print(f"{drawn.out}: {drawn.items} items ({groups}; {drawn.dropped} repeats dropped), {drawn.sheets} sheets. "
          f"Give each rater one sheet-raterK.tsv and {args.rubric}; collect ratings-NAME.tsv into {drawn.out}, "
          f"then: bot panel score {drawn.out}")
    return 0


def cmd_panel_score(args) -> int:
    from .training.panel import sheets

    result = sheets.score(args.folder)
    print(json.dumps(result, indent=1) if args.json else sheets.render(result), end="\n" if args.json else "")
    return 0


def cmd_panel_features(args) -> int:
    from .training.panel import features

    for done in features.compute(args.folders, args.model_dir, args.songs, args.arxiv):
        print(f"{done.folder}: {done.items} items -> {features.FEATURES_FILE} ({done.skipped} without two "
              "halves at a seam, best-of included, left out)")
    return 0


def cmd_panel_candidates(args) -> int:
    from .training.panel import candidates, sheets

    seeds = sheets.parse_seeds(args.seeds)
    chosen = candidates.across_ranking(_load(args.model_dir), seeds, args.per_seed, args.pool_size, args.temperatures)
    candidates.write(chosen, args.out, args.features)
    print(f"{len(chosen)} candidates from {len(seeds)} seeds -> {args.out}, {args.features}")
    return 0


def cmd_panel_fit(args) -> int:
    from .training.panel import fit

    _out_path(args.out)
    groups = set(args.groups.split(",")) if args.groups else None
    fitted = fit.fit_curator(args.folders, groups, args.alpha)
    weights = fitted.curator.weights
    for name in sorted(weights, key=lambda n: -abs(weights[n])):
        print(f"{name:24s} {weights[name]:+.3f}")
    notes = fitted.curator.notes
    loo_net = "n/a" if fitted.leave_one_out_r_network is None else f"{fitted.leave_one_out_r_network:.2f}"
    print(f"bias {fitted.curator.bias:.3f}; {notes['items']} items {notes['groups']}; in-sample r "
          f"{fitted.in_sample_r:.2f}; leave-one-out r {fitted.leave_one_out_r:.2f} (network items {loo_net})")
    if args.out is not None:
        from .files import atomic_write_text

        atomic_write_text(args.out, fitted.curator.to_json() + "\n")
        print(f"wrote {args.out}")
    return 0


def cmd_panel_heads(args) -> int:
    from .training.panel import heads

    table = heads.learn_from(args.folders, args.songs, args.arxiv)
    ranked = sorted(table.scores, key=lambda h: (-table.scores[h], h))
    liked = [h for h in ranked if table.scores[h] >= heads.LIKED]
    print(f"{len(table.scores)} heads from {sum(table.ratings.values())} ratings (mean {table.mean:.2f}); "
          f"{len(liked)} at {heads.LIKED:+.2f} or above")
    for h in ranked[:args.show] + (["..."] if len(ranked) > 2 * args.show else []) + ranked[-args.show:]:
        print(h if h == "..." else f"  {h:24s} {table.scores[h]:+.2f} ({table.ratings[h]} ratings)")
    return 0


def cmd_panel_rolling(args) -> int:
    from .curation import curator
    from .training.panel import fit

    shipped = curator.load(args.curator)
    number = lambda x: "n/a" if x is None else f"{x:+.2f}"  # noqa: E731
    print(f"curators fitted on earlier panels against {args.curator} ({shipped.source or 'unnamed'}), "
          "on the next panel's network items (Pearson r / Spearman rho with the mean rating)\n")
    print("| panel | fitted on | items | refit r | refit rho | shipped r | shipped rho |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    groups = set(args.groups.split(",")) if args.groups else None
    for held in fit.rolling(args.folders, shipped, args.alpha, groups):
        print(f"| {held.panel} | {'+'.join(held.fitted_on)} | {held.items} | {number(held.refit_r)} | "
              f"{number(held.refit_rho)} | {number(held.shipped_r)} | {number(held.shipped_rho)} |")
    return 0


def _out_path(path: Path | None) -> None:
    """Refuse, before any work, an --out that cannot be written: a folder, or in a missing one."""
    if path is not None and (path.is_dir() or not path.parent.is_dir()):
        raise BotError(f"cannot write {path}: " + ("it is a folder" if path.is_dir() else
                                                   f"the folder {path.parent} does not exist"))


def cmd_panel_tune(args) -> int:
    from .curation import curator
    from .training.panel import fit

    _out_path(args.out)
    if not args.curator.is_file():
        raise BotError(f"no curator file {args.curator} (give the one to tune with --curator)")
    shipped = curator.load(args.curator)
    groups = set(args.groups.split(",")) if args.groups else None
    tuned = fit.tune(args.fit, args.test or [], shipped, args.feature, tuple(args.grid or fit.TUNE_GRID), groups)
    print(f"{args.feature}: {tuned.was:+.3f} -> {tuned.weight:+.3f} (mean per-panel Spearman rho on the network "
          f"items of the fit panels: {tuned.fit_rho_shipped:+.3f} -> {tuned.fit_rho:+.3f})")
    if args.test and tuned.test_panels:
        print(f"held out ({tuned.test_panels} of {len(args.test)} panels): {tuned.test_rho_shipped:+.3f} -> "
              f"{tuned.test_rho:+.3f}, better on {tuned.test_better} of {tuned.test_panels}")
    elif args.test:
        print(f"held out: none of the {len(args.test)} panels has {fit.MIN_RANKED} or more network items rated apart")
    if args.out is not None:
        from .files import atomic_write_text

        atomic_write_text(args.out, tuned.curator.to_json() + "\n")
        print(f"wrote {args.out}")
    return 0


def _add_panel_parser(sub) -> None:
    from .training.corpus import DEFAULT_PATHS

    p = sub.add_parser("panel", help="blind panels: draw sheets, score ratings, fit the curator to them")
    ps = p.add_subparsers(dest="panel_command", required=True)
    d = ps.add_parser("draw", help="draw a blind panel: key.tsv and one sheet per rater")
    d.add_argument("--out", type=Path, required=True, help="folder for key.tsv and the sheets, e.g. "
                   "bench/results/panel-NAME")
    d.add_argument("--seeds", default="1-40", help="bot seeds, e.g. 1-40 or 1,3,7-9 (default 1-40)")
    src = d.add_mutually_exclusive_group()
    src.add_argument("--bot-cmd", default="bot --dry-run --json",
                     help='command printing JSON with "would_post"; --seed N is appended (default: %(default)s)')
    src.add_argument("--bot-file", type=Path, help="one bot title per line, instead of running --bot-cmd")
    d.add_argument("--group", action="append", default=[], metavar="NAME=FILE", help="extra group, one title per line")
    d.add_argument("--raters", type=_whole(1), default=2, help="number of sheets, one shuffle each (default 2)")
    d.add_argument("--seed", type=int, default=0, help="seed of the baseline, the ids and the shuffles (default 0)")
    d.add_argument("--baseline-n", type=_whole(0), help="baseline items (default: as many as the bot group)")
    d.add_argument("--no-best-of", action="store_true", help="leave out the experiment's best-of list")
    d.add_argument("--songs", type=Path, default=DEFAULT_PATHS["song"])
    d.add_argument("--arxiv", type=Path, default=DEFAULT_PATHS["arxiv"])
    d.add_argument("--best-of", type=Path, default=Path("data/experiment_best_of.txt"))
    d.add_argument("--rubric", default="../shared/panel/RUBRIC.md", help="the raters' instructions (named in "
                   "draw.json and the message; not read)")
    d.add_argument("--force", action="store_true", help="overwrite an existing key.tsv")
    d.set_defaults(handler=cmd_panel_draw)
    s = ps.add_parser("score", help="score the ratings-*.tsv of a panel folder (writes scores.md)")
    s.add_argument("folder", type=Path)
    s.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    s.set_defaults(handler=cmd_panel_score)
    f = ps.add_parser("features", help="the curator's features of every rated item (features-all.jsonl)")
    f.add_argument("folders", type=Path, nargs="+")
    f.add_argument("--model-dir", type=Path, default=Path("model_weights"))
    f.add_argument("--songs", type=Path, default=DEFAULT_PATHS["song"])
    f.add_argument("--arxiv", type=Path, default=DEFAULT_PATHS["arxiv"])
    f.set_defaults(handler=cmd_panel_features)
    c = ps.add_parser("candidates", help="candidates from across the curator's ranking, for a fitting panel")
    c.add_argument("--seeds", default="1-40")
    c.add_argument("--per-seed", type=_whole(1), default=3)
    c.add_argument("--model-dir", type=Path, default=Path("model_weights"))
    c.add_argument("--pool-size", type=_whole(1), default=300)
    c.add_argument("--temperatures", type=_temperatures, default=[0.5, 0.7, 0.9])
    c.add_argument("--out", type=Path, required=True, help="titles, one per line (for draw --bot-file)")
    c.add_argument("--features", type=Path, required=True, help="their features, as JSON lines")
    c.set_defaults(handler=cmd_panel_candidates)
    ft = ps.add_parser("fit", help="fit the curator to rated panels (ridge regression of the mean score)")
    ft.add_argument("folders", type=Path, nargs="+")
    ft.add_argument("--groups", help="comma-separated groups to fit on (default: every group with features)")
    ft.add_argument("--alpha", type=float, default=30.0, help="ridge penalty on standardised features")
    ft.add_argument("--out", type=Path, help="write the curator here (e.g. model_weights/mashup_curator.json)")
    ft.set_defaults(handler=cmd_panel_fit)
    h = ps.add_parser("heads", help="the readers' heads: how panels rated paper phrases by their last word")
    h.add_argument("folders", type=Path, nargs="+", help="rated panel folders")
    h.add_argument("--songs", type=Path, default=DEFAULT_PATHS["song"])
    h.add_argument("--arxiv", type=Path, default=DEFAULT_PATHS["arxiv"])
    h.add_argument("--show", type=_whole(0), default=10, help="heads to list from each end")
    h.set_defaults(handler=cmd_panel_heads)
    r = ps.add_parser("rolling", help="out of sample: fit on earlier panels, rank the next panel's items, "
                      "beside the shipped curator")
    r.add_argument("folders", type=Path, nargs="+", help="rated panel folders, oldest first")
    r.add_argument("--alpha", type=float, default=30.0, help="ridge penalty on standardised features")
    r.add_argument("--groups", help="comma-separated groups to fit on (default: every group with features)")
    r.add_argument("--curator", type=Path, default=Path("model_weights/mashup_curator.json"))
    r.set_defaults(handler=cmd_panel_rolling)
    tu = ps.add_parser("tune", help="choose one weight of the shipped curator on some panels, check it on later ones")
    tu.add_argument("feature", help="the curator feature whose weight is chosen (e.g. relatedness)")
    tu.add_argument("--fit", type=Path, nargs="+", required=True, help="rated panel folders to choose it on")
    tu.add_argument("--test", type=Path, nargs="+", help="later rated panel folders to check it on (held out)")
    tu.add_argument("--grid", type=float, nargs="+",
                    help="weights to try, score points per unit of the feature (default: fit.TUNE_GRID, -1 to 1)")
    tu.add_argument("--groups", help="comma-separated groups to rank (default: every group with features)")
    tu.add_argument("--curator", type=Path, default=Path("model_weights/mashup_curator.json"))
    tu.add_argument("--out", type=Path, help="write the tuned curator here (e.g. model_weights/mashup_curator.json)")
    tu.set_defaults(handler=cmd_panel_tune)


def _check_bluesky(settings) -> None:
    """`bot check`'s Bluesky lines: the account, its bot label, the limits. One login (a check
    keeps no session; the worker keeps its own in the state database)."""
    from .outlets import bluesky, richtext
    from .outlets.bluesky import MemorySessions

    outlet = bluesky.from_settings(settings, MemorySessions())
    try:
        profile = outlet.profile()
    finally:
        outlet.close()
    name = f" ({profile.display_name})" if profile.display_name else ""
    print(f"bluesky account: @{profile.handle}{name} on {profile.service}, {profile.did}")
    print(f"bluesky bot label: {'set' if profile.bot_label else 'NOT set (run `bot register --bluesky` again to add it)'}")
    print(f"bluesky limits: {richtext.MAX_GRAPHEMES} graphemes a post; writes {bluesky.WRITE_LIMITS}; "
          f"{bluesky.LOGIN_LIMITS} (the worker logs in once and keeps its session in the state database)")


def cmd_register_bluesky(args) -> int:
    """`bot register --bluesky`: log in once with the app password (checking it), add the `bot`
    self-label to the profile, and write the account to .env."""
    import getpass

    from .outlets import bluesky
    from .outlets.bluesky import BlueskyOutlet, MemorySessions
    from .posting import registration

    if not args.handle:
        raise BotError("--handle is missing; pass the bot's Bluesky handle, e.g. --handle mashups.bsky.social")
    handle = settings_module.bluesky_handle("--handle", args.handle)
    current = settings_module.read_dotenv(args.env_file)
    service = settings_module.server_url("--service", (args.service or current.get("BLUESKY_SERVICE") or "").strip())
    service = service or bluesky.SERVICE
    registration.check_env_target(args.env_file)
    password = args.app_password
    if password is None:  # asked on a terminal without echo; read as a line from a pipe
        try:
            if sys.stdin.isatty():
                password = getpass.getpass("app password (Bluesky: Settings > Privacy and security > App passwords): ")
            elif not (password := sys.stdin.readline()):
                raise EOFError
        except EOFError:
            raise BotError(f"no app password was entered (end of input); run `bot register --bluesky --handle {handle}` "
                           "again, or pass it with --app-password") from None
    password = settings_module.app_password("the app password", password.strip())
    if not password:
        raise BotError("no app password was entered; make one in Bluesky's Settings > Privacy and security > "
                       f"App passwords and run `bot register --bluesky --handle {handle}` again")
    outlet = BlueskyOutlet(service, handle, password, MemorySessions())
    try:
        profile = outlet.profile()  # the one login: the credentials work
        print(f"logged in as @{profile.handle} ({profile.did}) on {profile.service}")
        networks = ("mastodon", "bluesky") if current.get("MASTODON_ACCESS_TOKEN") else ("bluesky",)
        try:
            registration.write_env(args.env_file, {"BLUESKY_SERVICE": service, "BLUESKY_HANDLE": handle,
                                                   "BLUESKY_APP_PASSWORD": password, "NETWORKS": ",".join(networks)})
        except OSError as e:
            raise BotError(f"cannot write {args.env_file} ({e.strerror}); pass another --env-file") from None
        print(f"wrote BLUESKY_SERVICE, BLUESKY_HANDLE, BLUESKY_APP_PASSWORD and NETWORKS={','.join(networks)} "
              f"to {args.env_file} (mode 0600); `bot check` verifies them")
        if args.bot_flag:
            try:
                added = outlet.mark_as_bot()
                print("labelled the profile as a bot (self-label \"bot\")" if added
                      else "the profile already carries the bot label")
            except BotError as e:
                print(f"warning: {e}; the profile has no bot label yet (run `bot register --bluesky` again)")
    finally:
        outlet.close()
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line too, with where to look."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    worker = settings_module.defaults()
    ap = _Parser(prog="bot", description="Song x arXiv title mashups on Mastodon (and Bluesky). "
                                 "With no command, runs the posting worker (settings: .env.example).")
    ap.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    ap.add_argument("--dry-run", action="store_true", help="print what the bot would post, post nothing")
    ap.add_argument("--model-dir", type=Path, default=None,
                    help="model directory (default: BOT_MODEL_DIR, else the shipped model)")
    ap.add_argument("--seed", type=_seed, default=None, help="random seed (0 or more), for reproducible output")
    ap.add_argument("--temperatures", type=_temperatures, default=None,
                    help=f"sampling temperatures, comma-separated (default: TEMPERATURES, else "
                         f"{','.join(map(str, worker.temperatures))})")
    ap.add_argument("--pool-size", type=_whole(settings_module.POOL_SIZE_MIN, settings_module.POOL_SIZE_MAX), default=None,
                    help=f"halves to sample, half song titles and half paper phrases, each of those kept from "
                         f"several sampled (default: POOL_SIZE, else {worker.pool_size})")
    ap.add_argument("--show", type=_positive, default=None, help="how many top candidates to print (default 10)")
    ap.add_argument("--posts", type=_positive, default=None,
                    help="with --dry-run: the next N posts in the order the worker would make them")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    sub = ap.add_subparsers(dest="command")

    t = sub.add_parser("train", help="train a model on the song and arXiv corpora (needs the [train] extra)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _add_train_options(t)
    t.set_defaults(handler=cmd_train)

    e = sub.add_parser("evaluate", help="share of raw samples passing each filter, per temperature")
    e.add_argument("--temperatures", dest="eval_temperatures", type=_temperatures,
                   default=[0.5, 0.7, 0.9, 1.1, 1.3, 1.5],
                   help="sampling temperatures to measure, comma-separated (default 0.5,0.7,0.9,1.1,1.3,1.5)")
    e.add_argument("--samples", type=_positive, default=1000, help="samples per temperature")
    e.add_argument("--seed", dest="eval_seed", type=_seed, default=0, help="random seed of the samples (default 0)")
    e.add_argument("--plot", type=Path, default=None, help="also write a PNG plot here (needs matplotlib)")
    e.add_argument("--model-dir", type=Path, default=argparse.SUPPRESS, help="model directory")
    e.set_defaults(handler=cmd_evaluate)

    c = sub.add_parser("check", help="verify the credentials; print the account, its bot flag and the server's limits",
                       description="Log in with the settings' credentials (Mastodon, and Bluesky where set) and "
                                   "print the account, its bot flag and the server's limits; posts nothing.")
    c.set_defaults(handler=cmd_check)
    h = sub.add_parser("health", help="is a worker running on the state database, and when did it last post "
                       "(exit status 1: none is running)",
                       description="Whether a worker holds the state database (DATABASE_URL) and when it last posted; "
                                   "exit status 1 when none is running (the container's health check).")
    h.set_defaults(handler=cmd_health)

    st = sub.add_parser("stats", help="posts and engagement by seam, tag, length and temperature; what the bot "
                                      "has learned from its audience")
    st.add_argument("--plot", type=Path, default=None, help="also write a PNG picture here (needs matplotlib)")
    st.set_defaults(handler=cmd_stats)

    q = sub.add_parser("queue", help="approval mode: list the candidates waiting for the owner; approve N, reject "
                                     "or edit TEXT for the oldest open slot, as the owner's answer would")
    q.add_argument("--slot", type=int, default=None, help="the slot to answer for (as `bot queue` lists it)")
    qs = q.add_subparsers(dest="queue_command")
    qa = qs.add_parser("approve", help="post candidate N in the slot")
    qa.add_argument("number", type=_positive)
    qa.add_argument("--slot", type=int, default=argparse.SUPPRESS, help="the slot (default: the oldest open one)")
    qr = qs.add_parser("reject", help="post none of them: the slot is skipped")
    qr.add_argument("--slot", type=int, default=argparse.SUPPRESS, help="the slot (default: the oldest open one)")
    qe = qs.add_parser("edit", help="post this text instead (it must pass every filter a candidate passes)")
    qe.add_argument("text")
    qe.add_argument("--slot", type=int, default=argparse.SUPPRESS, help="the slot (default: the oldest open one)")
    q.set_defaults(handler=cmd_queue)

    r = sub.add_parser("register", help="get an access token (OAuth code flow) and write it to .env; "
                                        "with --bluesky, check a Bluesky app password and write it")
    where = r.add_mutually_exclusive_group(required=True)
    where.add_argument("--server",
                       help="your server's URL, e.g. https://mastodon.example (one that allows bots: see README)")
    where.add_argument("--bluesky", action="store_true",
                       help="set up the Bluesky account instead (with --handle; the app password is asked for)")
    r.add_argument("--handle", default=None, help="Bluesky: the bot's handle, e.g. mashups.bsky.social")
    r.add_argument("--service", default=None,
                   help="Bluesky: the account's server (default: BLUESKY_SERVICE, else https://bsky.social)")
    r.add_argument("--app-password", default=None,
                   help="Bluesky: the app password (asked for when omitted, which keeps it out of shell history)")
    r.add_argument("--code", default=None, help="the authorization code (asked for when omitted)")
    r.add_argument("--env-file", type=Path, default=Path(".env"), help="where to write the token (default: .env)")
    r.add_argument("--no-bot-flag", dest="bot_flag", action="store_false",
                   help="do not mark the account as a bot (by default it is, which asks for the "
                        "write:accounts scope too)")
    r.set_defaults(handler=cmd_register)

    rp = sub.add_parser("reply", help="preview the reply to a mention: bot reply --dry-run \"@bot transformers\"")
    rp.add_argument("text", help="the text of a mention")
    rp.add_argument("--dry-run", action="store_true", help="print the reply, send nothing (no account needed)")
    rp.add_argument("--seed", type=int, default=argparse.SUPPRESS, help="random seed, for reproducible output")
    rp.add_argument("--model-dir", type=Path, default=argparse.SUPPRESS, help="model directory")
    rp.set_defaults(handler=cmd_reply)

    d = sub.add_parser("derive", help="rebuild a model's word statistics and novelty index from the corpora")
    d.add_argument("--song-titles", type=Path, default=Path("data/song_titles.txt"),
                   help="the song-title corpus, one per line (default data/song_titles.txt)")
    d.add_argument("--arxiv-titles", type=Path, default=Path("data/arxiv_titles.txt"),
                   help="the paper-title corpus, one per line (default data/arxiv_titles.txt)")
    d.add_argument("--model-dir", type=Path, default=argparse.SUPPRESS, help="model directory")
    d.set_defaults(handler=cmd_derive)
    _add_panel_parser(sub)
    return ap


def _as_posted(best, args) -> str | None:
    """The status the worker would send for the best candidate: with POST_HASHTAGS."""
    return settings_module.with_hashtags(best.text, getattr(args, "hashtags", ())) if best else None


PREVIEW_OPTIONS = ("seed", "temperatures", "pool_size", "show", "posts", "json", "model_dir")


def _preview_options_given(args) -> list[str]:
    """The preview options on a command line that runs the live worker (no --dry-run)."""
    return ["--" + name.replace("_", "-") for name in PREVIEW_OPTIONS
            if getattr(args, name, None) not in (None, False)]


def _load_settings():
    """The settings (environment over .env), with a warning on stderr for each variable that
    looks like a misspelled setting (POST_INTERVALL)."""
    env_file = Path.cwd() / ".env"
    for warning in (settings_module.misspelled(settings_module.read_dotenv(env_file), known_only=True)
                    + settings_module.misspelled(dict(os.environ))):
        print(f"bot: warning: {warning}", file=sys.stderr)
    return settings_module.load()


def _settings_as_defaults(args) -> None:
    """The worker's settings (environment, .env) fill in what the command line leaves out, so a
    dry run previews what the worker would do."""
    current = _load_settings()
    args.settings = current
    if getattr(args, "seed", None) is None and args.command is None:
        args.seed = current.seed
    _pin_blas(current.blas_threads)
    if getattr(args, "model_dir", None) is None:
        args.model_dir = current.model_dir
    if args.pool_size is None:
        args.pool_size = current.pool_size
    if args.temperatures is None:
        args.temperatures = list(current.temperatures)
    args.hashtags = current.post_hashtags


_EARLY_SIGNALS: list[int] = []  # SIGTERM/SIGINT received before the command was known


def _hold_signals() -> None:
    """From the first moment: a stop request during start-up is kept, not fatal (a supervisor's
    SIGTERM in the first half second must still exit 0 for the worker)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda n, frame: _EARLY_SIGNALS.append(n))


def _release_signals() -> None:
    """Not the worker: signals act as usual again, and one that came early acts now."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if _EARLY_SIGNALS:
        signal.raise_signal(_EARLY_SIGNALS[0])


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the `bot` process itself (tests call main() with arguments, in their own process)
        _hold_signals()
    ap = parser()
    args = ap.parse_args(argv)
    if not args.dry_run and args.command is None and (given := _preview_options_given(args)):
        ap.error(f"{', '.join(given)} only {'applies' if len(given) == 1 else 'apply'} to a preview: add --dry-run "
                 "(without it, `bot` runs the live worker)")
    if argv is None and (args.dry_run or args.command is not None):
        _release_signals()
    try:
        if args.dry_run or args.command in ("evaluate", "derive", "reply"):
            _settings_as_defaults(args)
        if args.command:
            return args.handler(args)
        if args.dry_run:
            return cmd_dry_run(args)
        return cmd_run(args)
    except BotError as e:
        print(f"bot: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
