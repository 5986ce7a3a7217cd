/*
 * kaohe - the one command for operators and tests (SPEC section 7).
 *
 * main() parses `kaohe [global options] COMMAND [args and options]` into
 * kh_args_t (options may stand before or after positional arguments) and
 * dispatches. Each command lives in its own file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kaohe.h"
#include "kh_log.h"

static const char usage_text[] =
    "usage: kaohe COMMAND [arguments] [options]\n"
    "       kaohe COMMAND --help, kaohe help COMMAND: one command's usage and options\n"
    "\n"
    "commands:\n"
    "  init -c county.json -d DIR   prepare DIR (county, keys, store), start nothing\n"
    "  up -c county.json -d DIR     start ingest, scorer and ranker\n"
    "  down -d DIR                  stop them\n"
    "  status -d DIR                health, last committed sequence, lag\n"
    "  feed FILE... (- for stdin)   send events, wait for every acknowledgement\n"
    "       [--as NAME] [--timeout SECONDS] [--rate N] [--stats]\n"
    "  rank [--year Y] [--as-of DATE]\n"
    "  station CODE [--year Y] [--as-of DATE]\n"
    "  explain CODE ITEM [--year Y] [--as-of DATE]\n"
    "  urban --month YYYY-MM        the 城区三所 patrol ranking\n"
    "  close PERIOD                 close every period ending by PERIOD\n"
    "                               (2026-11, 2026-Q4, 2026-H2, 2026)\n"
    "  watch [--year Y] [--month YYYY-MM] [--once]\n"
    "                               the ranking and 城区三所, live in the terminal\n"
    "  simulate [--seed N] [--year Y] [--months A-B] [--stations N]\n"
    "           [--scale X] [--county FILE] [-o FILE]\n"
    "  snapshot publish YYYY-MM     close the month, freeze and publish it\n"
    "  snapshot list                every publication, in chain order\n"
    "  snapshot show YYYY-MM [--rev N]\n"
    "  snapshot diff YYYY-MM [--from A] [--to B]\n"
    "  snapshot verify              check every hash and the chain (exit 1 if broken)\n"
    "  snapshot export YYYY-MM --format json|csv|xlsx|html -o FILE [--rev N]\n"
    "  subscribe [--count N]        print snapshots as they are published\n"
    "  keys list|add NAME|revoke NAME  the CurveZMQ identities in DIR/keys\n"
    "  rebuild [--into NEWDIR]      recompute every aggregate from the journal\n"
    "  backup OUT                   a consistent, compacted hot copy of the store\n"
    "  help [COMMAND]               this overview, or one command's help\n"
    "\n"
    "global options: -d DIR (or $KAOHE_DATA), --json, --as NAME (the key to\n"
    "  use: dispatch, legal, assessor, admin or station-CODE; default admin,\n"
    "  and for feed each event's own source), -h/--help\n"
    "exit status: 0 ok, 1 failure, 2 usage error, 3 some events rejected\n";

/* Each command's own usage and options: kaohe CMD --help, kaohe help CMD.
 * docs/kaohe.1 says the same at length; tests/e2e/test_help.sh checks
 * that every command of usage_text has one and that they agree. */
static const char help_init[] =
    "usage: kaohe init -c county.json -d DIR [--json]\n"
    "\n"
    "Prepares the data directory without starting anything: checks county.json\n"
    "(a bad file is refused, naming the field) and installs it as\n"
    "DIR/county.json, creates DIR (0700), the keys missing from DIR/keys and the\n"
    "store. Running it again changes nothing already in place. kaohe up does the\n"
    "same before it starts the services; under systemd, kaohe-init.service runs\n"
    "it before the services of kaohe.target.\n"
    "\n"
    "options:\n"
    "  -c, --county FILE  the county configuration (needed the first time);\n"
    "                     refused while services run in DIR with another one\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --json             print {\"dir\",\"county\",\"stations\",\"county_installed\",\n"
    "                     \"keys_created\",\"store_created\"}\n";
static const char help_up[] =
    "usage: kaohe up [-c county.json] -d DIR [--rules FILE] [--log-level LEVEL]\n"
    "                [--json]\n"
    "\n"
    "Prepares DIR as kaohe init does, then starts the services that are not\n"
    "running: kaohe-scorer, kaohe-ranker and one kaohe-ingest per role\n"
    "(dispatch, legal, station, assessor), found beside kaohe, else on PATH, as\n"
    "background processes logging to DIR/log/NAME.log. Returns once every one\n"
    "answers. On an existing DIR they resume where the data left off.\n"
    "\n"
    "options:\n"
    "  -c, --county FILE  the county configuration (needed for a new DIR)\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --rules FILE       the rule catalog the services load (default\n"
    "                     $KAOHE_RULES, else the installed catalog.json)\n"
    "  --log-level LEVEL  the services' log level: debug, info (default), warn\n"
    "                     or error\n"
    "  --json             print {\"dir\",\"started\",\"services\"}\n";
static const char help_down[] =
    "usage: kaohe down -d DIR [--json]\n"
    "\n"
    "Stops the services running in DIR: SIGTERM to each (the ingests first, the\n"
    "scorer last), SIGKILL to one still running after 10 seconds.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --json             print {\"stopped\"}\n";
static const char help_status[] =
    "usage: kaohe status -d DIR [--json]\n"
    "\n"
    "Each service's health (pid, whether it answers, ping time), the last\n"
    "committed sequence, the lag, the periods closed so far and the published\n"
    "months that late events changed since. Exit status 1 when a service is\n"
    "down.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --as NAME          the identity whose key to use (default admin)\n"
    "  --json             print "
    "{\"dir\",\"services\":[{\"name\",\"pid\",\"up\",\"ping_ms\"}],\n"
    "                     \"last_seq\",\"lag\",\"closed_through\",\"stale_months\",\n"
    "                     \"healthy\"}\n";
static const char help_feed[] =
    "usage: kaohe feed FILE... -d DIR [--as NAME] [--timeout SECONDS] [--rate N]\n"
    "                  [--stats] [--stats-out FILE] [--json]\n"
    "\n"
    "Sends the events of each FILE (JSON Lines, one event a line; - for stdin),\n"
    "each with the key of its source (a station's events with that station's),\n"
    "and waits for every acknowledgement, resending what is not answered. Prints\n"
    "the accepted, duplicate and rejected counts. Exit status 3 when some events\n"
    "were rejected, 1 when some were never acknowledged.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --as NAME          send everything with that identity's key\n"
    "  --timeout SECONDS  give up when nothing at all is acknowledged for that\n"
    "                     long (default 60)\n"
    "  --rate N           offer N events per second (open loop) instead of as\n"
    "                     fast as acknowledgements allow\n"
    "  --stats            print the acknowledgement latency percentiles (p50,\n"
    "                     p99, p99.9, max, in microseconds) and the throughput\n"
    "                     on stderr (with --json as one JSON object)\n"
    "  --stats-out FILE   write that report to FILE as JSON (implies --stats)\n"
    "  --json             print one line per event, in input order:\n"
    "                     {\"line\",\"id\",\"status\",\"reason\"}; the counts go to\n"
    "                     stderr\n";
static const char help_rank[] =
    "usage: kaohe rank -d DIR [--year Y] [--as-of DATE] [--json]\n"
    "\n"
    "The ranking: each station's rank, total, bonus, pending deductions and\n"
    "section scores. Ties share a rank (1, 2, 2, 4), ordered by code.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --year Y           the assessment year (default the current one, or\n"
    "                     the year of --as-of)\n"
    "  --as-of DATE       as of the end of DATE (YYYY-MM-DD): later events\n"
    "                     left out\n"
    "  --as NAME          the identity whose key to use (default admin)\n"
    "  --json             print {\"year\",\"stations\":[{\"rank\",\"station\",\"name\",\n"
    "                     \"total\",\"bonus\",\"pending\",\"sections\"}]}\n";
static const char help_station[] =
    "usage: kaohe station CODE -d DIR [--year Y] [--as-of DATE] [--json]\n"
    "\n"
    "Station CODE's scorecard in the standard's columns: 项目 内容 标准 分值\n"
    "方法 考核周期 数据来源 自评分 考核得分 备注.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --year Y           the assessment year (default the current one, or\n"
    "                     the year of --as-of)\n"
    "  --as-of DATE       as of the end of DATE (YYYY-MM-DD): later events\n"
    "                     left out\n"
    "  --as NAME          the identity whose key to use (default admin)\n"
    "  --json             print {\"station\",\"year\",\"total\",\"bonus\",\"pending\",\n"
    "                     \"sections\":[{\"id\",\"max\",\"score\",\"items\":[...]}]}\n";
static const char help_explain[] =
    "usage: kaohe explain CODE ITEM -d DIR [--year Y] [--as-of DATE] [--json]\n"
    "\n"
    "Every deduction, bonus and pending shortfall of item ITEM (a rule id such\n"
    "as 5.2.3) for station CODE: its points (a deduction negative), period, the\n"
    "ids of the events behind it and why.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --year Y           the assessment year (default the current one, or\n"
    "                     the year of --as-of)\n"
    "  --as-of DATE       as of the end of DATE (YYYY-MM-DD): later events\n"
    "                     left out\n"
    "  --as NAME          the identity whose key to use (default admin)\n"
    "  --json             print "
    "{\"station\",\"item\",\"year\",\"entries\":[{\"points\",\n"
    "                     \"period\",\"pending\",\"events\",\"why\"}]}\n";
static const char help_urban[] =
    "usage: kaohe urban --month YYYY-MM -d DIR [--json]\n"
    "\n"
    "The 城区三所 patrol ranking of a month: each urban station's counted\n"
    "patrols, how many it is behind the top and the deduction that makes.\n"
    "\n"
    "options:\n"
    "  --month YYYY-MM    the month (required)\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --as NAME          the identity whose key to use (default admin)\n"
    "  --json             print {\"month\",\"closed\",\"stations\":[{\"station\",\n"
    "                     \"patrols\",\"behind\",\"deducted\"}]}\n";
static const char help_close[] =
    "usage: kaohe close PERIOD -d DIR [--json]\n"
    "\n"
    "Closes every period that ends on or before the end of PERIOD: a month\n"
    "(2026-11), a quarter (2026-Q4), a half-year (2026-H2) or a year (2026).\n"
    "Pending shortfalls of closed periods become deductions. Only the admin\n"
    "identity may close.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --as NAME          the identity whose key to use (default admin)\n"
    "  --json             print {\"closed_through\"}\n";
static const char help_watch[] =
    "usage: kaohe watch -d DIR [--year Y] [--month YYYY-MM] [--once]\n"
    "\n"
    "A live terminal view of the ranking and the month's 城区三所 ranking,\n"
    "redrawn as events arrive: each station's change since the latest published\n"
    "snapshot, the pending deductions about to land this month and the recent\n"
    "rejections. It fits an 80-column terminal; q or Ctrl-C ends it.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --year Y           the ranking's year (default the current one)\n"
    "  --month YYYY-MM    the 城区三所 month (default the current one)\n"
    "  --once             draw one frame on standard output and exit (so does\n"
    "                     a watch whose output is not a terminal)\n"
    "  --as NAME          the identity whose key to use (default admin)\n";
static const char help_simulate[] =
    "usage: kaohe simulate [--seed N] [--year Y] [--months A-B] [--stations N]\n"
    "                      [--scale X] [--county FILE] [-o FILE]\n"
    "\n"
    "Writes a realistic, seeded event stream of a county (or, with --stations,\n"
    "a province) as JSON Lines. For the current year it stops at the present,\n"
    "so no event is in the future.\n"
    "\n"
    "options:\n"
    "  --seed N           the seed: the same seed gives the same stream\n"
    "                     (default 1)\n"
    "  --year Y           the year (default the current one)\n"
    "  --months A-B       the months, e.g. 1-12 (default) or 11\n"
    "  --stations N       a province of N stations instead of the built-in\n"
    "                     county of 12\n"
    "  --scale X          event volume multiplied by X, 0 < X <= 100 (default 1)\n"
    "  --county FILE      also write the matching county.json to FILE\n"
    "  -o FILE            write the events to FILE (default standard output)\n";
static const char help_snapshot[] =
    "usage: kaohe snapshot publish YYYY-MM -d DIR [--as NAME] [--json]\n"
    "       kaohe snapshot list -d DIR [--json]\n"
    "       kaohe snapshot show YYYY-MM [--rev N] -d DIR [--json]\n"
    "       kaohe snapshot diff YYYY-MM [--from A] [--to B] -d DIR [--json]\n"
    "       kaohe snapshot verify -d DIR [--json]\n"
    "       kaohe snapshot export YYYY-MM --format json|csv|xlsx|html -o FILE\n"
    "                             [--rev N] -d DIR\n"
    "\n"
    "Month-end snapshots: each station's year-to-date scorecard frozen as of\n"
    "the month's last day, stored, chained by SHA-256 hashes and published.\n"
    "  publish  closes the month (and every period ending by then) and freezes\n"
    "           it: revision 1, or N+1 when late events changed anything\n"
    "  list     every publication, in chain order\n"
    "  show     one revision (default the latest)\n"
    "  diff     what changed between two revisions (default the last two)\n"
    "  verify   recomputes every hash and the chain; exit status 1 when broken\n"
    "  export   writes a revision as json, csv, xlsx or html\n"
    "\n"
    "options:\n"
    "  --rev N            the revision to show or export (default the latest)\n"
    "  --from A, --to B   the revisions diff compares\n"
    "  --format FORMAT    json, csv, xlsx or html\n"
    "  -o FILE            the file export writes\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --as NAME          the identity to publish as, recorded as published_by\n"
    "                     (default admin's key, $USER recorded)\n"
    "  --json             print JSON: publish {\"month\",\"rev\",\"hash\",\"changed\"}\n";
static const char help_subscribe[] =
    "usage: kaohe subscribe -d DIR [--count N]\n"
    "\n"
    "Prints each snapshot as it is published, one JSON document a line: first\n"
    "the latest publication, then every new one; a gap (a message lost at the\n"
    "high-water mark) is filled from the store. Runs until interrupted.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --count N          stop after N documents\n"
    "  --as NAME          the identity whose key to use (default admin)\n";
static const char help_keys[] =
    "usage: kaohe keys list -d DIR [--json]\n"
    "       kaohe keys add NAME -d DIR\n"
    "       kaohe keys revoke NAME -d DIR\n"
    "\n"
    "The CurveZMQ identities of DIR/keys: dispatch, legal, assessor, admin and\n"
    "station-CODE. add creates NAME's pair (hand NAME.key and server.pub to its\n"
    "system over a secure channel); revoke deletes it. The services re-read\n"
    "DIR/keys when it changes: no restart.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --json             list as [{\"identity\",\"public_key\"}]\n";
static const char help_rebuild[] =
    "usage: kaohe rebuild -d DIR [--into NEWDIR] [--json]\n"
    "\n"
    "Recomputes every aggregate from the journal, replaying it into a fresh\n"
    "environment, and compares the result with the live store while the\n"
    "services run. Exit status 1 naming the first difference.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --into NEWDIR      keep the fresh environment in NEWDIR (must not exist;\n"
    "                     by default a scratch directory in DIR, removed after)\n"
    "  --json             print {\"events\",\"seconds\",\"events_per_second\",\n"
    "                     \"compare_seconds\",\"identical\",\"difference\"}\n";
static const char help_backup[] =
    "usage: kaohe backup -d DIR OUT [--json]\n"
    "\n"
    "Writes a consistent, compacted hot copy of the store into the new\n"
    "directory OUT while events flow, with county.json and keys/ beside it:\n"
    "OUT/store/data.mdb. To restore: stop the services, replace\n"
    "DIR/store/data.mdb with the copy (or use OUT as the data directory), start\n"
    "them.\n"
    "\n"
    "options:\n"
    "  -d, --data DIR     the data directory (default $KAOHE_DATA)\n"
    "  --json             print {\"out\",\"last_seq\",\"bytes\",\"seconds\"}\n";
static const char help_help[] =
    "usage: kaohe help [COMMAND]\n"
    "\n"
    "Prints the overview of every command, or COMMAND's usage and options (as\n"
    "kaohe COMMAND --help does).\n";

static const struct {
    const char *cmd;
    const char *text;
} command_help[] = {
    {"init", help_init},         {"up", help_up},
    {"down", help_down},         {"status", help_status},
    {"feed", help_feed},         {"rank", help_rank},
    {"station", help_station},   {"explain", help_explain},
    {"urban", help_urban},       {"close", help_close},
    {"watch", help_watch},       {"simulate", help_simulate},
    {"snapshot", help_snapshot}, {"subscribe", help_subscribe},
    {"keys", help_keys},         {"rebuild", help_rebuild},
    {"backup", help_backup},     {"help", help_help},
};

/* Prints the overview (name NULL) or one command's help to stdout.
 * KH_EXIT_OK, or KH_EXIT_USAGE for a command that does not exist. */
static int print_help(const char *name)
{
    if (!name) {
        fputs(usage_text, stdout);
        return KH_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof command_help / sizeof *command_help; i++)
        if (strcmp(command_help[i].cmd, name) == 0) {
            fputs(command_help[i].text, stdout);
            return KH_EXIT_OK;
        }
    return kh_usage_error("unknown command \"%s\"", name);
}

/* Options that take a value; everything else starting with - is a flag. */
static const char *const valued[] = {
    "-d",       "--data",     "-c",     "--county",    "--year",
    "--as-of",  "--month",    "--as",   "--timeout",   "--seed",
    "--months", "--stations", "-o",     "--rules",     "--log-level",
    "--scale",  "--rev",      "--from", "--to",        "--format",
    "--count",  "--into",     "--rate", "--stats-out", NULL};
static const char *const flags[] = {"--json", "-h", "--help", "--stats", "--once", NULL};

/* The list's own copy of s (so option names outlive argv parsing), or NULL. */
static const char *find(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return *list;
    return NULL;
}

const char *kh_args_get(const kh_args_t *a, const char *name)
{
    for (int i = a->nopts - 1; i >= 0; i--)
        if (strcmp(a->opt_name[i], name) == 0)
            return a->opt_val[i];
    return NULL;
}

bool kh_args_flag(const kh_args_t *a, const char *name)
{
    for (int i = 0; i < a->nopts; i++)
        if (strcmp(a->opt_name[i], name) == 0)
            return true;
    return false;
}

int kh_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kaohe: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(see kaohe --help)\n", stderr);
    va_end(ap);
    return KH_EXIT_USAGE;
}

int kh_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kaohe: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return KH_EXIT_FAIL;
}

bool kh_need_dir(const kh_args_t *a)
{
    if (a->dir && *a->dir)
        return true;
    kh_usage_error("%s needs the data directory: -d DIR or KAOHE_DATA", a->cmd);
    return false;
}

int main(int argc, char **argv)
{
    kh_args_t a;
    memset(&a, 0, sizeof a);
    a.dir = getenv("KAOHE_DATA");
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (s[0] == '-' && s[1] != '\0') {
            const char *eq = strchr(s, '=');
            char name[64];
            const char *val = NULL;
            if (eq && strncmp(s, "--", 2) == 0 && (size_t)(eq - s) < sizeof name) {
                memcpy(name, s, (size_t)(eq - s));
                name[eq - s] = '\0';
                val = eq + 1;
            } else {
                snprintf(name, sizeof name, "%s", s);
            }
            const char *canon = find(valued, name);
            if (canon) {
                if (!val) {
                    if (i + 1 >= argc)
                        return kh_usage_error("option %s needs a value", name);
                    val = argv[++i];
                }
            } else if (!(canon = find(flags, name))) {
                return kh_usage_error("unknown option %s", s);
            }
            if (a.nopts == KH_MAX_OPTS)
                return kh_usage_error("too many options");
            a.opt_name[a.nopts] = canon;
            a.opt_val[a.nopts++] = val;
        } else if (!a.cmd) {
            a.cmd = s;
        } else {
            if (a.npos == KH_MAX_POS)
                return kh_usage_error("too many arguments");
            a.pos[a.npos++] = s;
        }
    }
    bool help = kh_args_flag(&a, "-h") || kh_args_flag(&a, "--help");
    if (!a.cmd) {
        fputs(usage_text, help ? stdout : stderr);
        return help ? KH_EXIT_OK : KH_EXIT_USAGE;
    }
    /* kaohe help [CMD] and kaohe CMD --help, before any other check. */
    if (strcmp(a.cmd, "help") == 0)
        return print_help(a.npos ? a.pos[0] : help ? "help" : NULL);
    if (help)
        return print_help(a.cmd);
    const char *d = kh_args_get(&a, "-d");
    if (!d)
        d = kh_args_get(&a, "--data");
    if (d)
        a.dir = d;
    a.json = kh_args_flag(&a, "--json");
    if (kh_args_get(&a, "--as"))
        kh_client_identity = kh_args_get(&a, "--as");
    kh_log_init("kaohe");

    if (strcmp(a.cmd, "init") == 0)
        return kh_cmd_init(&a);
    if (strcmp(a.cmd, "up") == 0)
        return kh_cmd_up(&a);
    if (strcmp(a.cmd, "down") == 0)
        return kh_cmd_down(&a);
    if (strcmp(a.cmd, "status") == 0)
        return kh_cmd_status(&a);
    if (strcmp(a.cmd, "feed") == 0)
        return kh_cmd_feed(&a);
    if (strcmp(a.cmd, "rank") == 0 || strcmp(a.cmd, "station") == 0 ||
        strcmp(a.cmd, "explain") == 0 || strcmp(a.cmd, "urban") == 0 ||
        strcmp(a.cmd, "close") == 0)
        return kh_cmd_query(&a);
    if (strcmp(a.cmd, "simulate") == 0)
        return kh_cmd_simulate(&a);
    if (strcmp(a.cmd, "snapshot") == 0)
        return kh_cmd_snapshot(&a);
    if (strcmp(a.cmd, "subscribe") == 0)
        return kh_cmd_subscribe(&a);
    if (strcmp(a.cmd, "watch") == 0)
        return kh_cmd_watch(&a);
    if (strcmp(a.cmd, "keys") == 0)
        return kh_cmd_keys(&a);
    if (strcmp(a.cmd, "rebuild") == 0)
        return kh_cmd_rebuild(&a);
    if (strcmp(a.cmd, "backup") == 0)
        return kh_cmd_backup(&a);
    return kh_usage_error("unknown command \"%s\"", a.cmd);
}
