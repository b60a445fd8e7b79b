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
from pathlib import Path

from .errors import BotError
from .posting import settings as settings_module  # light: no numpy, no network


def _temperatures(text: str) -> list[float]:
    try:
        return list(settings_module.temperatures("temperatures", text))
    except BotError as e:
        raise argparse.ArgumentTypeError(str(e).replace("temperatures=", "", 1)) from None


def _whole(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value
    return parse


_positive = _whole(1)
_seed = _whole(0)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a probability from 0 to 1, not {text!r}")
    return value


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
    from .curation.evidence import Evidence
    from .model.modelfile import ModelPaths, load_model
    from .model.sampler import Sampler

    paths = ModelPaths.in_directory(model_dir)
    return paths, Sampler(load_model(paths)), Evidence.load(model_dir, paths.name)


def _candidate_json(c) -> dict:
    return {"text": c.text, "score": c.score, "temperature": c.temperature, "passed": c.passed,
            "rejection": c.rejection, "mixedness": c.verdicts["mixedness"].detail, "features": c.features}


def _why(c, evidence) -> str:
    """The candidate's features that moved the curator's score most, or its mixedness detail."""
    if not c.features:
        return c.verdicts["mixedness"].detail
    return ", ".join(f"{name} {value:+.2f}" for name, value in evidence.curator.explain(c.features))


def cmd_dry_run_posts(args, paths, sampler, evidence) -> int:
    """The next args.posts posts in the order the worker would make them: a fresh pool for each
    (the worker regenerates its pool more often than it posts), nothing already posted, and the
    variety rule over what came before."""
    from .curation import variety
    from .curation.candidates import build_pool
    from .curation.words import canonical

    posted: list[str] = []
    chosen = []
    for k in range(args.posts):
        seed = None if args.seed is None else args.seed * 10_000 + k
        pool = build_pool(sampler, evidence, args.pool_size, args.temperatures, seed,
                          posted=frozenset(canonical(t) for t in posted))
        passing = pool.passing
        index = variety.choose([c.text for c in passing], posted)
        if index is None:
            chosen.append(None)
            continue
        chosen.append(passing[index])
        posted.append(passing[index].text)
    summary = variety.report(posted)
    if args.json:
        json.dump({"model": str(paths.config), "posts": [c and _candidate_json(c) for c in chosen],
                   "variety": summary.__dict__}, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    for k, c in enumerate(chosen, 1):
        print(f"{k:3d}. " + (f"{c.text}    [{c.score:.2f}: {_why(c, evidence)}]" if c else
                             "(nothing: no candidate passed every filter)"))
    print(f"variety over {summary.posts} posts: top word {summary.top_word[0]!r} {summary.top_word[1]:.0%}, "
          f"top tag {summary.top_tag[0]!r} {summary.top_tag[1]:.0%}, top seam type "
          f"{summary.top_seam_type[0]!r} {summary.top_seam_type[1]:.0%}, mean Jaccard {summary.mean_jaccard:.3f}")
    return 0


def cmd_dry_run(args) -> int:
    from .curation.candidates import build_pool

    paths, sampler, evidence = _load(args.model_dir)
    if args.posts:
        return cmd_dry_run_posts(args, paths, sampler, evidence)
    pool = build_pool(sampler, evidence, args.pool_size, args.temperatures, args.seed)
    best, shown = pool.best, pool.passing[: args.show]
    if args.json:
        json.dump({"model": str(paths.config), "sampled": pool.sampled, "unique": len(pool.candidates),
                   "passed": len(pool.passing), "rejections": dict(pool.rejections.most_common()),
                   "top": [_candidate_json(c) for c in shown], "would_post": _as_posted(best, args)},
                  sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    temps = ", ".join(f"{t:g}" for t in args.temperatures)
    seed = "random" if args.seed is None else args.seed
    print(f"model {paths.config}: {pool.sampled} sampled at temperatures {temps} (seed {seed}), "
          f"{len(pool.candidates)} unique, {len(pool.passing)} passed every filter")
    print("rejected: " + (", ".join(f"{r} {n}" for r, n in pool.rejections.most_common()) or "none"))
    print(f"top {len(shown)}:")
    for c in shown:
        print(f"  {c.score:.3f}  T={c.temperature:g}  {c.text}    [{_why(c, evidence)}]")
    print(f"would post: {_as_posted(best, args)}" if best else
          "would post: nothing (no candidate passed every filter; try a larger --pool-size)")
    return 0


def cmd_evaluate(args) -> int:
    from .training import evaluation

    if args.plot:
        _check_plot_target(args.plot)
    paths, sampler, evidence = _load(args.model_dir)
    rows = evaluation.evaluate(sampler, evidence, args.eval_temperatures, args.samples, args.eval_seed,
                               args.switch_probability)
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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # A run skipped because the previous one still retries is expected, not news; job errors are
    # logged by the daemon's own listener.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


def cmd_run(args) -> int:
    from .posting import daemon

    settings = settings_module.load()
    _logging(settings)
    _pin_blas(settings.blas_threads)
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
    finished = daemon.run(settings, stop)
    logging.getLogger("bot").info("stopped")
    if not finished:  # a job is stuck in a call: do not wait for it (its post is settled at the next start)
        logging.shutdown()
        os._exit(0)
    return 0


def _state_summary(database_url: str) -> str:
    """What the state database holds; a check creates nothing (an SQLite file that does not exist
    yet is reported, not made)."""
    from .store import open_store

    if database_url.startswith("sqlite:///"):
        path = Path(database_url[len("sqlite:///"):])
        if not path.exists():
            return f"sqlite {path} does not exist yet (the worker creates it at its first start)"
    store = open_store(database_url)
    try:
        posts = store.posts()
    finally:
        store.close()
    return (f"{store.description}, {sum(p.state == 'posted' for p in posts)} posts, "
            f"{sum(p.state == 'pending' for p in posts)} unfinished")


def cmd_stats(args) -> int:
    """Posts and engagement by seam, tag, length and temperature; what the learner has learned."""
    from .posting import stats
    from .posting.learner import shipped_curator
    from .store import open_store

    settings = settings_module.load()
    if args.plot:
        _check_plot_target(args.plot)
    if settings.database_url.startswith("sqlite:///") and not Path(settings.database_url[len("sqlite:///"):]).exists():
        raise BotError(f"no state yet: {settings.database_url[len('sqlite:///'):]} does not exist (the worker "
                       "creates it at its first start; check DATABASE_URL)")
    prior = shipped_curator(settings.model_dir)
    store = open_store(settings.database_url)
    try:
        print(stats.report(store, prior, settings.learning))
        if args.plot:
            stats.plot(store, prior, args.plot)
            print(f"\nwrote {args.plot}")
    finally:
        store.close()
    return 0


def cmd_check(args) -> int:
    from .posting.gateway import ReplyGateway

    settings = settings_module.load()
    settings_module.require_server(settings)
    gateway = ReplyGateway(settings.api_base_url, settings.access_token, settings.request_timeout)
    account = gateway.account()
    limit = gateway.status_limit()
    state = _state_summary(settings.database_url)
    print(f"account: @{account.get('acct')} on {settings.api_base_url} ({account.get('url')})")
    print(f"bot flag: {'set' if account.get('bot') else 'NOT set (mark the account as a bot in its profile settings)'}")
    print(f"status limit: {limit if limit else 'unknown'} characters")
    print(f"state: {state}")
    print(f"posting every {settings.interval:g} s, {settings.visibility}, language {settings.language}")
    print(f"etiquette: hashtags {' '.join(settings.post_hashtags) or 'none'}, quiet hours "
          f"{settings.quiet_hours or 'none'}, at most {settings.max_posts_per_day or 'any number of'} posts a day")
    if not settings.replies:
        print("replies: off (REPLIES=off)")
    elif gateway.can_read_mentions():
        print(f"replies: on, mentions checked every {settings.reply_check:g} s (the token has read:notifications)")
    else:
        print("replies: the token lacks read:notifications, so mentions go unanswered; run `bot register` again")
    return 0


def cmd_reply(args) -> int:
    from .posting import replies

    if not args.dry_run:
        raise BotError("`bot reply` only previews for now: add --dry-run, e.g. bot reply --dry-run \"@bot transformers\"")
    paths, sampler, evidence = _load(args.model_dir)
    composer = replies.Composer(sampler, evidence, args.temperatures)
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


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line too, with where to look."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    worker = settings_module.defaults()
    ap = _Parser(prog="bot", description="Song x arXiv title mashups on Mastodon. "
                                 "With no command, runs the posting worker (settings: .env.example).")
    ap.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    ap.add_argument("--dry-run", action="store_true", help="print what the bot would post, post nothing")
    ap.add_argument("--model-dir", type=Path, default=None,
                    help="model directory (default: BOT_MODEL_DIR, else the shipped model)")
    ap.add_argument("--seed", type=_seed, default=None, help="random seed (0 or more), for reproducible output")
    ap.add_argument("--temperatures", type=_temperatures, default=None,
                    help=f"sampling temperatures, comma-separated (default: TEMPERATURES, else "
                         f"{','.join(map(str, worker.temperatures))})")
    ap.add_argument("--pool-size", type=_positive, default=None,
                    help=f"candidates to sample (default: POOL_SIZE, else {worker.pool_size})")
    ap.add_argument("--show", type=_positive, default=10, help="how many top candidates to print")
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
                   default=[0.5, 0.7, 0.9, 1.1, 1.3, 1.5])
    e.add_argument("--samples", type=_positive, default=1000, help="samples per temperature")
    e.add_argument("--seed", dest="eval_seed", type=_seed, default=0)
    e.add_argument("--plot", type=Path, default=None, help="also write a PNG plot here (needs matplotlib)")
    e.add_argument("--switch-probability", type=_probability, default=None,
                   help="source-conditioned models: override the config's chance of switching corpus per word")
    e.add_argument("--model-dir", type=Path, default=argparse.SUPPRESS, help="model directory")
    e.set_defaults(handler=cmd_evaluate)

    c = sub.add_parser("check", help="verify the credentials; print the account, its bot flag and the server's limits")
    c.set_defaults(handler=cmd_check)

    st = sub.add_parser("stats", help="posts and engagement by seam, tag, length and temperature; what the bot "
                                      "has learned from its audience")
    st.add_argument("--plot", type=Path, default=None, help="also write a PNG picture here (needs matplotlib)")
    st.set_defaults(handler=cmd_stats)

    r = sub.add_parser("register", help="get an access token (OAuth code flow) and write it to .env")
    r.add_argument("--server", required=True,
                   help="your server's URL, e.g. https://mastodon.example (one that allows bots: see README)")
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
    d.add_argument("--song-titles", type=Path, default=Path("data/song_titles.txt"))
    d.add_argument("--arxiv-titles", type=Path, default=Path("data/arxiv_titles.txt"))
    d.add_argument("--model-dir", type=Path, default=argparse.SUPPRESS, help="model directory")
    d.set_defaults(handler=cmd_derive)
    return ap


def _as_posted(best, args) -> str | None:
    """The status the worker would send for the best candidate: with POST_HASHTAGS."""
    return settings_module.with_hashtags(best.text, getattr(args, "hashtags", ())) if best else None


def _settings_as_defaults(args) -> None:
    """The worker's settings (environment, .env) fill in what the command line leaves out, so a
    dry run previews what the worker would do."""
    current = settings_module.load()
    _pin_blas(current.blas_threads)
    if getattr(args, "model_dir", None) is None:
        args.model_dir = current.model_dir
    if args.pool_size is None:
        args.pool_size = current.pool_size
    if args.temperatures is None:
        args.temperatures = list(current.temperatures)
    args.hashtags = current.post_hashtags


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
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
