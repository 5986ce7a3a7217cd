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
    "usage: kaohe COMMAND [options]\n"
    "\n"
    "commands:\n"
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
    "  simulate [--seed N] [--year Y] [--months A-B] [--stations N]\n"
    "           [--county FILE] [-o FILE]\n"
    "  snapshot publish YYYY-MM     close the month, freeze and publish its scorecards\n"
    "  snapshot list                every publication, in chain order\n"
    "  snapshot show YYYY-MM [--rev N]\n"
    "  snapshot diff YYYY-MM [--from A] [--to B]\n"
    "  snapshot verify              recompute every hash and the chain (exit 1 if "
    "broken)\n"
    "  snapshot export YYYY-MM --format json|csv|xlsx|html -o FILE [--rev N]\n"
    "  subscribe [--count N]        print snapshots as they are published\n"
    "\n"
    "  keys list|add NAME|revoke NAME  the CurveZMQ identities in DIR/keys\n"
    "  rebuild [--into NEWDIR]      recompute every aggregate from the journal\n"
    "  backup OUT                   a consistent, compacted hot copy of the store\n"
    "\n"
    "global options: -d DIR (or $KAOHE_DATA), --json, --as NAME (the key to\n"
    "  use: dispatch, legal, assessor, admin or station-CODE; default admin,\n"
    "  and for feed each event's own source), -h/--help\n"
    "exit status: 0 ok, 1 failure, 2 usage error, 3 some events rejected\n";

/* Options that take a value; everything else starting with - is a flag. */
static const char *const valued[] = {
    "-d",       "--data",     "-c",     "--county",    "--year",
    "--as-of",  "--month",    "--as",   "--timeout",   "--seed",
    "--months", "--stations", "-o",     "--rules",     "--log-level",
    "--scale",  "--rev",      "--from", "--to",        "--format",
    "--count",  "--into",     "--rate", "--stats-out", NULL};
static const char *const flags[] = {"--json", "-h", "--help", "--stats", NULL};

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
    if (kh_args_flag(&a, "-h") || kh_args_flag(&a, "--help") || !a.cmd) {
        fputs(usage_text, a.cmd || kh_args_flag(&a, "-h") || kh_args_flag(&a, "--help")
                              ? stdout
                              : stderr);
        return a.cmd || kh_args_flag(&a, "-h") || kh_args_flag(&a, "--help")
                   ? KH_EXIT_OK
                   : KH_EXIT_USAGE;
    }
    const char *d = kh_args_get(&a, "-d");
    if (!d)
        d = kh_args_get(&a, "--data");
    if (d)
        a.dir = d;
    a.json = kh_args_flag(&a, "--json");
    if (kh_args_get(&a, "--as"))
        kh_client_identity = kh_args_get(&a, "--as");
    kh_log_init("kaohe");

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
    if (strcmp(a.cmd, "keys") == 0)
        return kh_cmd_keys(&a);
    if (strcmp(a.cmd, "rebuild") == 0)
        return kh_cmd_rebuild(&a);
    if (strcmp(a.cmd, "backup") == 0)
        return kh_cmd_backup(&a);
    if (strcmp(a.cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return KH_EXIT_OK;
    }
    return kh_usage_error("unknown command \"%s\"", a.cmd);
}
