/*
 * kh_simulate.c - the seeded event-stream generator behind kaohe simulate.
 *
 * Design and invariants:
 *   - Determinism. Two xoshiro256** streams, both seeded from opts.seed
 *     through splitmix64: the "setup" stream builds the county at open
 *     (stations, places, the months of each station's training and
 *     campaigns), the "events" stream is restarted at every
 *     kh_simulate_write_events() call. Nothing reads a clock, the locale
 *     or libc's rand, and every number is printed by integer code, so the
 *     same options give the same bytes everywhere.
 *   - Time. The simulated county is Asia/Shanghai, a fixed UTC+8 since
 *     1991, so a local civil time is UTC plus eight hours and needs no zone
 *     file. Instants are int64 seconds since the epoch (UTC) here. A line
 *     is written "+08:00", or "Z" for some (and always for calls close to
 *     local midnight, which then name the previous UTC day).
 *   - Order. Lines are generated a month at a time, each with an emission
 *     key (its time plus a feed's delay; later for revisions and
 *     revocations, earlier than the call for a review that overtakes it),
 *     sorted by (key, generation order), and the lines keyed before the next
 *     month are written; the rest wait for the next month. Only one month
 *     of text is held, in an arena of offsets (no per-line allocation).
 *   - Validity. Every value comes from the sets of SPEC section 5 and the
 *     shipped standard's defects (defects[] below mirrors SPEC section 4's
 *     defect codes and ranges); ids are unique per source (station events
 *     "CODE-NNNNNN", calls "D…", reviews "L…", findings "F…"); only the
 *     intentional resends repeat a line, and they repeat it byte for byte.
 */
#include "kh_simulate.h"

#include <stdlib.h>
#include <string.h>

#include "kh_error.h"

#define TZ_OFFSET_SEC (8 * 3600) /* Asia/Shanghai */
#define SEC_PER_DAY   86400
#define LINE_CAP      2048
#define OUT_CAP       (1u << 20)

/* ------------------------------------------------------------------ */
/* PRNG: xoshiro256**, seeded by splitmix64 (Blackman and Vigna)        */
/* ------------------------------------------------------------------ */

typedef struct rng {
    uint64_t s[4];
} rng_t;

enum { STREAM_SETUP = 1, STREAM_EVENTS = 2 };

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * UINT64_C(0xD1B54A32D192ED03));
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) by multiply-shift (n >= 1; the bias is below 2^-32). */
static uint32_t rng_below(rng_t *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi], inclusive. */
static int rng_range(rng_t *r, int lo, int hi)
{
    return hi <= lo ? lo : lo + (int)rng_below(r, (uint32_t)(hi - lo + 1));
}

/* True with probability permille / 1000. */
static bool rng_chance(rng_t *r, unsigned permille)
{
    return rng_below(r, 1000) < permille;
}

/* Uniform double in [0, 1). */
static double rng_unit(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Index drawn by integer weights. */
static size_t rng_pick(rng_t *r, const unsigned *w, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    unsigned x = rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* ------------------------------------------------------------------ */
/* the county                                                           */
/* ------------------------------------------------------------------ */

typedef struct sim_place {
    char id[56];
    char name[128];
    kh_category_t cat;
    kh_day_t opened;
    kh_day_t closed; /* KH_DAY_NONE while open */
} sim_place_t;

typedef struct sim_station {
    char code[KH_CODE_MAX + 1];
    char name[96];
    char short_name[64]; /* the name without 派出所, for place names */
    int klass;
    bool urban;
    sim_place_t *places;
    size_t nplaces;
    int training_month;       /* 0: no team training this year */
    unsigned campaign_months; /* bit m set: a campaign in month m */
    /* run state, reset by every write_events */
    uint32_t seq;   /* last station event id number */
    int plan_month; /* a quarter's plan filed late, in this month */
} sim_station_t;

struct kh_sim {
    kh_simulate_opts_t o;
    char county[64];
    sim_station_t *st;
    size_t nst;
};

/* The built-in county: a town (城关) and two districts as the 城区三所,
 * and nine township stations. */
static const struct {
    const char *code, *name, *short_name;
    int klass;
    bool urban;
} county12[] = {
    {"CG", "城关派出所", "城关", 1, true},  {"DC", "东城派出所", "东城", 1, true},
    {"XC", "西城派出所", "西城", 2, true},  {"QS", "青山派出所", "青山", 2, false},
    {"SQ", "石桥派出所", "石桥", 3, false}, {"BS", "白沙派出所", "白沙", 2, false},
    {"HL", "黄岭派出所", "黄岭", 3, false}, {"LT", "龙潭派出所", "龙潭", 2, false},
    {"TY", "桃源派出所", "桃源", 3, false}, {"MA", "马鞍派出所", "马鞍", 3, false},
    {"SH", "双河派出所", "双河", 2, false}, {"GX", "高新区派出所", "高新区", 1, false},
};

/* Syllables of the province's station names: 40 x 40 two-character
 * names before a number is needed. */
static const char *const name_a[] = {
    "青", "白", "黄", "龙", "桃", "马", "双", "高", "石", "东", "西", "南", "北", "金",
    "银", "铜", "铁", "花", "柳", "松", "梅", "竹", "兰", "云", "凤", "雷", "雨", "雪",
    "山", "清", "河", "湖", "江", "海", "平", "安", "长", "永", "新", "大"};
static const char *const name_b[] = {
    "山", "河", "桥", "沙", "岭", "潭", "源", "鞍", "溪", "湾", "坪", "坝", "口", "门",
    "庄", "店", "集", "镇", "塘", "港", "洲", "岗", "坡", "林", "田", "园", "城", "关",
    "寨", "堡", "铺", "营", "渡", "湖", "泉", "峰", "石", "阳", "江", "台"};
#define NAME_A (sizeof name_a / sizeof name_a[0])
#define NAME_B (sizeof name_b / sizeof name_b[0])

static const struct {
    kh_category_t cat;
    char letter;
    int lo, hi, urban_lo, urban_hi;
    const char *const *names;
    size_t nnames;
} place_kinds[] = {
#define NAMES(...)                                                                       \
    (const char *const[]){__VA_ARGS__},                                                  \
        sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)
    {KH_CAT_HOTEL, 'H', 1, 3, 3, 6,
     NAMES("如家宾馆", "锦江酒店", "平安旅社", "温馨宾馆", "金港酒店", "福源宾馆",
           "悦来客栈", "四季酒店")},
    {KH_CAT_SPECIAL_INDUSTRY, 'T', 1, 3, 1, 3,
     NAMES("开锁服务部", "印章刻制店", "旧机动车交易行", "典当行", "废旧金属回收站")},
    {KH_CAT_FILING_INDUSTRY, 'F', 1, 4, 1, 4,
     NAMES("二手手机店", "旧货店", "汽车修理厂", "寄卖行", "废品收购站")},
    {KH_CAT_KEY_INDUSTRY, 'K', 0, 2, 0, 2,
     NAMES("物流公司", "快递网点", "出租车公司", "加油站")},
    {KH_CAT_ENTERTAINMENT, 'E', 0, 2, 1, 3,
     NAMES("KTV", "网吧", "歌舞厅", "洗浴中心", "酒吧")},
    {KH_CAT_DANGEROUS_GOODS, 'W', 0, 1, 0, 1,
     NAMES("烟花爆竹仓库", "液化气站", "化工厂")},
    {KH_CAT_INTERNAL_UNIT, 'U', 1, 3, 1, 3,
     NAMES("中学", "医院", "农商银行网点", "自来水厂", "供电所")},
    {KH_CAT_CLOSED_COMMUNITY, 'C', 0, 2, 2, 5,
     NAMES("花园小区", "锦绣家园", "幸福里小区", "阳光城小区")},
#undef NAMES
};
#define NPLACE_KINDS (sizeof place_kinds / sizeof place_kinds[0])

/* The county's requirement of prevention patrols by class (the written
 * policy.required_patrols, SPEC section 6 defaults). */
static const int required_patrols[4] = {0, 8, 6, 4};

void kh_simulate_opts_init(kh_simulate_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->stations = 0;
    o->year = 2024;
    o->first_month = 1;
    o->last_month = 12;
    o->scale = 1.0;
    o->until = 0;
    o->auto_close = false;
}

static int check_opts(const kh_simulate_opts_t *o)
{
    /* scale is compared so that NaN fails too. */
    if (!o || o->stations > KH_SIMULATE_MAX_STATIONS || o->year < 1971 ||
        o->year > 9998 || o->first_month < 1 || o->last_month > 12 ||
        o->first_month > o->last_month || !(o->scale > 0.0) || !(o->scale <= 100.0))
        return KH_EINVAL;
    return KH_OK;
}

/* Places of one station: counts by category, opening mostly years ago,
 * some during the simulated months, a few closing during them. */
static int make_places(sim_station_t *st, rng_t *r, const kh_simulate_opts_t *o)
{
    int counts[NPLACE_KINDS], total = 0;
    for (size_t k = 0; k < NPLACE_KINDS; k++) {
        counts[k] = st->urban
                        ? rng_range(r, place_kinds[k].urban_lo, place_kinds[k].urban_hi)
                        : rng_range(r, place_kinds[k].lo, place_kinds[k].hi);
        total += counts[k];
    }
    st->places = calloc((size_t)total, sizeof *st->places);
    if (!st->places)
        return KH_ENOMEM;
    kh_day_t first = kh_day_from_civil(o->year, o->first_month, 1);
    kh_day_t last = kh_day_from_civil(o->year, o->last_month,
                                      kh_days_in_month(o->year, o->last_month));
    kh_day_t long_ago = kh_day_from_civil(o->year - 15, 1, 1);
    kh_day_t year_start = kh_day_from_civil(o->year, 1, 1);
    for (size_t k = 0; k < NPLACE_KINDS; k++) {
        /* Different trades for a station's places of one category; a
         * number only when they run out. */
        size_t nn = place_kinds[k].nnames;
        size_t start = rng_below(r, (uint32_t)nn);
        for (int n = 1; n <= counts[k]; n++) {
            sim_place_t *p = &st->places[st->nplaces++];
            snprintf(p->id, sizeof p->id, "%s-%c%02d", st->code, place_kinds[k].letter,
                     n);
            const char *noun = place_kinds[k].names[(start + (size_t)n - 1) % nn];
            if ((size_t)n <= nn)
                snprintf(p->name, sizeof p->name, "%s%s", st->short_name, noun);
            else
                snprintf(p->name, sizeof p->name, "%s%s%d号", st->short_name, noun, n);
            p->cat = place_kinds[k].cat;
            if (rng_chance(r, 900))
                p->opened =
                    long_ago + (kh_day_t)rng_below(r, (uint32_t)(year_start - long_ago));
            else
                p->opened = first + (kh_day_t)rng_below(r, (uint32_t)(last - first + 1));
            p->closed = KH_DAY_NONE;
            kh_day_t from = (p->opened > first ? p->opened : first) + 30;
            if (from < last && rng_chance(r, 40))
                p->closed = from + (kh_day_t)rng_below(r, (uint32_t)(last - from + 1));
        }
    }
    return KH_OK;
}

int kh_simulate_open(kh_sim_t **out, const kh_simulate_opts_t *o)
{
    *out = NULL;
    if (check_opts(o) != KH_OK)
        return KH_EINVAL;
    kh_sim_t *sim = calloc(1, sizeof *sim);
    if (!sim)
        return KH_ENOMEM;
    sim->o = *o;
    sim->nst = o->stations ? o->stations : sizeof county12 / sizeof county12[0];
    sim->st = calloc(sim->nst, sizeof *sim->st);
    if (!sim->st) {
        kh_simulate_close(&sim);
        return KH_ENOMEM;
    }
    rng_t r;
    rng_seed(&r, o->seed, STREAM_SETUP);
    snprintf(sim->county, sizeof sim->county, "%s",
             o->stations ? "模拟省公安厅" : "模拟县公安局");
    /* A stride coprime with 40 x 40 walks every name once before any
     * repeats; the seed picks where the walk starts. */
    size_t name_start = rng_below(&r, (uint32_t)(NAME_A * NAME_B));
    for (size_t i = 0; i < sim->nst; i++) {
        sim_station_t *st = &sim->st[i];
        if (!o->stations) {
            snprintf(st->code, sizeof st->code, "%s", county12[i].code);
            snprintf(st->name, sizeof st->name, "%s", county12[i].name);
            snprintf(st->short_name, sizeof st->short_name, "%s", county12[i].short_name);
            st->klass = county12[i].klass;
            st->urban = county12[i].urban;
        } else {
            size_t k = (name_start + i * 7) % (NAME_A * NAME_B);
            size_t round = i / (NAME_A * NAME_B);
            snprintf(st->code, sizeof st->code, "S%04zu", i + 1);
            if (round == 0)
                snprintf(st->short_name, sizeof st->short_name, "%s%s",
                         name_a[k % NAME_A], name_b[k / NAME_A]);
            else
                snprintf(st->short_name, sizeof st->short_name, "%s%s%zu",
                         name_a[k % NAME_A], name_b[k / NAME_A], round + 1);
            snprintf(st->name, sizeof st->name, "%s派出所", st->short_name);
            st->urban = i < 3;
            if (st->urban)
                st->klass = i < 2 ? 1 : 2;
            else
                st->klass = (int)rng_pick(&r, (const unsigned[]){20, 40, 40}, 3) + 1;
        }
        if (rng_chance(&r, 920))
            st->training_month = rng_range(&r, 1, 12);
        if (rng_chance(&r, 900)) {
            int n = rng_range(&r, 1, 3);
            for (int c = 0; c < n; c++)
                st->campaign_months |= 1u << rng_range(&r, 1, 12);
        }
        int rc = make_places(st, &r, o);
        if (rc != KH_OK) {
            kh_simulate_close(&sim);
            return rc;
        }
    }
    *out = sim;
    return KH_OK;
}

void kh_simulate_close(kh_sim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kh_sim_t *sim = *self_p;
    for (size_t i = 0; sim->st && i < sim->nst; i++)
        free(sim->st[i].places);
    free(sim->st);
    free(sim);
    *self_p = NULL;
}

size_t kh_simulate_nstations(const kh_sim_t *sim)
{
    return sim->nst;
}

const char *kh_simulate_station_code(const kh_sim_t *sim, size_t i)
{
    return i < sim->nst ? sim->st[i].code : NULL;
}

int kh_simulate_write_county(kh_sim_t *sim, FILE *out)
{
    int bad =
        fprintf(out, "{\n  \"county\": \"%s\",\n  \"stations\": [\n", sim->county) < 0;
    for (size_t i = 0; i < sim->nst && !bad; i++) {
        const sim_station_t *st = &sim->st[i];
        /* Codes and names come from the tables above: nothing to escape. */
        bad = fprintf(out,
                      "    {\"code\": \"%s\", \"name\": \"%s\", \"class\": %d, "
                      "\"urban\": %s}%s\n",
                      st->code, st->name, st->klass, st->urban ? "true" : "false",
                      i + 1 < sim->nst ? "," : "") < 0;
    }
    if (!bad)
        bad = fprintf(out,
                      "  ],\n"
                      "  \"policy\": {\"timezone\": \"Asia/Shanghai\", "
                      "\"grace_days\": 5, \"auto_close\": %s,\n"
                      "             \"required_patrols\": {\"1\": %d, \"2\": %d, "
                      "\"3\": %d},\n"
                      "             \"three_class_kinds\": [\"burglary\", "
                      "\"car_theft\", \"motorcycle_theft\", \"ebike_theft\"],\n"
                      "             \"bonus_cap\": null}\n"
                      "}\n",
                      sim->o.auto_close ? "true" : "false", required_patrols[1],
                      required_patrols[2], required_patrols[3]) < 0;
    if (bad || fflush(out) != 0 || ferror(out))
        return KH_EIO;
    return KH_OK;
}

/* ------------------------------------------------------------------ */
/* the shipped standard's findings and items (SPEC section 4)           */
/* ------------------------------------------------------------------ */

typedef enum {
    PL_NONE, /* no place */
    PL_ANY,  /* one of the station's places */
    PL_UNIT, /* an internal unit (内保单位) */
    PL_TEAM  /* a 群防群治 organisation, "CODE-Gnn" */
} place_rule_t;

typedef struct sim_defect {
    const char *item, *defect;
    place_rule_t place;
    int min_t, max_t, step_t; /* ranged points in tenths; 0: fixed, count */
    const char *note;
} sim_defect_t;

static const sim_defect_t defects[] = {
    {"1.1.1", "unregistered", PL_ANY, 0, 0, 0, "重点行业场所底数不清"},
    {"1.1.1", "not_in_platform", PL_ANY, 0, 0, 0, "场所未录入警综平台"},
    {"1.1.1", "mismatch", PL_ANY, 0, 0, 0, "登记表和平台数据不符"},
    {"1.1.3a", "unfiled", PL_NONE, 0, 0, 0, "备案行业漏登记"},
    {"1.1.4", "poor_effect", PL_NONE, 0, 0, 0, "集中清查整治效果不好"},
    {"1.1.4", "incomplete_materials", PL_NONE, 20, 50, 5, "整治资料收集不齐"},
    {"1.2", "spot_check_failed", PL_UNIT, 30, 50, 5, "内保单位安全保卫工作不落实"},
    {"4.3", "missing_item", PL_NONE, 0, 0, 0, "抽查治保会缺项"},
    {"4.5", "unclear", PL_NONE, 5, 10, 1, "物防技防设施底数不清"},
    {"4.6.1", "unregistered", PL_TEAM, 0, 0, 0, "群防群治组织底数不清"},
    {"4.6.1", "not_in_platform", PL_TEAM, 0, 0, 0, "群防群治组织未录入警综平台"},
    {"4.6.1", "mismatch", PL_TEAM, 0, 0, 0, "群防群治登记表和平台数据不符"},
    {"4.6.1", "late_update", PL_TEAM, 0, 0, 0, "群防群治数据更新不及时"},
    {"5.2.4", "ledger_late", PL_ANY, 0, 0, 0, "巡逻台帐填写不规范、录入不及时"},
    {"5.2.5", "register_mismatch", PL_ANY, 0, 0, 0, "登记表与警综平台数据不符"},
};
#define NDEFECTS (sizeof defects / sizeof defects[0])

static const char *const items[] = {
    "1.1.1", "1.1.2a", "1.1.2b", "1.1.2c", "1.1.3a", "1.1.3b", "1.1.4",
    "1.2",   "4.1",    "4.2",    "4.3",    "4.4",    "4.5",    "4.6.1",
    "4.6.2", "5.1",    "5.2.1",  "5.2.2",  "5.2.3",  "5.2.4",  "5.2.5"};
#define NITEMS (sizeof items / sizeof items[0])

/* Case kinds and locations by how often a county's dispatch sees them,
 * in the order of KH_CASE_KIND_MAP and KH_LOCATION_MAP. */
static const unsigned kind_weights[KH_CASE_COUNT] = {5, 10, 4, 5, 8, 16, 4, 14, 34};
static const unsigned loc_weights[KH_LOC_COUNT] = {30, 15, 10, 18, 10, 17};

/* The JSON names of the enums, from kh_event.h's own tables, so the
 * generator writes exactly the names the parser reads. */
#define SIM_NAME(c, s) s,
static const char *const source_names[] = {KH_SOURCE_MAP(SIM_NAME)};
static const char *const type_names[] = {KH_EVTYPE_MAP(SIM_NAME)};
static const char *const case_kind_names[] = {KH_CASE_KIND_MAP(SIM_NAME)};
static const char *const location_names[] = {KH_LOCATION_MAP(SIM_NAME)};
static const char *const outcome_names[] = {KH_OUTCOME_MAP(SIM_NAME)};
static const char *const category_names[] = {KH_CATEGORY_MAP(SIM_NAME)};
static const char *const inspection_names[] = {KH_INSPECTION_KIND_MAP(SIM_NAME)};
static const char *const patrol_names[] = {KH_PATROL_KIND_MAP(SIM_NAME)};
static const char *const metric_names[] = {KH_METRIC_MAP(SIM_NAME)};
#undef SIM_NAME

/* The source of each type (SPEC section 5). */
static kh_source_t type_source(kh_evtype_t type)
{
    switch (type) {
    case KH_EV_CALL:
        return KH_SRC_DISPATCH;
    case KH_EV_LEGAL_REVIEW:
        return KH_SRC_LEGAL;
    case KH_EV_FINDING:
        return KH_SRC_ASSESSOR;
    default:
        return KH_SRC_STATION;
    }
}

/* ------------------------------------------------------------------ */
/* lines                                                                */
/* ------------------------------------------------------------------ */

typedef struct line {
    char buf[LINE_CAP];
    size_t len;
    bool overflow;
} line_t;

static void lb_raw(line_t *l, const char *s, size_t n)
{
    if (l->len + n >= sizeof l->buf) {
        l->overflow = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

#define LB_LIT(l, s) lb_raw((l), (s), sizeof(s) - 1)

static void lb_uint(line_t *l, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    char rev[24];
    for (int i = 0; i < n; i++)
        rev[i] = tmp[n - 1 - i];
    lb_raw(l, rev, (size_t)n);
}

/* A JSON string literal; escapes what JSON requires. */
static void lb_jstr(line_t *l, const char *s)
{
    LB_LIT(l, "\"");
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            lb_raw(l, esc, 2);
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            lb_raw(l, esc, 6);
        } else {
            lb_raw(l, p, 1);
        }
    }
    LB_LIT(l, "\"");
}

static void lb_key(line_t *l, const char *key)
{
    LB_LIT(l, ", \"");
    lb_raw(l, key, strlen(key));
    LB_LIT(l, "\": ");
}

static void f_str(line_t *l, const char *key, const char *v)
{
    lb_key(l, key);
    lb_jstr(l, v);
}

static void f_uint(line_t *l, const char *key, uint64_t v)
{
    lb_key(l, key);
    lb_uint(l, v, 1);
}

static void f_bool(line_t *l, const char *key, bool v)
{
    lb_key(l, key);
    if (v)
        LB_LIT(l, "true");
    else
        LB_LIT(l, "false");
}

/* A number with one decimal from tenths: 85 -> 8.5, 780 -> 78.0. */
static void f_tenths(line_t *l, const char *key, unsigned tenths)
{
    lb_key(l, key);
    lb_uint(l, tenths / 10, 1);
    LB_LIT(l, ".");
    lb_uint(l, tenths % 10, 1);
}

static void lb_date(line_t *l, kh_day_t d)
{
    int y, m, dd;
    kh_day_to_civil(d, &y, &m, &dd);
    lb_uint(l, (uint64_t)y, 4);
    LB_LIT(l, "-");
    lb_uint(l, (uint64_t)m, 2);
    LB_LIT(l, "-");
    lb_uint(l, (uint64_t)dd, 2);
}

static void f_date(line_t *l, const char *key, kh_day_t d)
{
    lb_key(l, key);
    LB_LIT(l, "\"");
    lb_date(l, d);
    LB_LIT(l, "\"");
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* RFC 3339 of a UTC instant: county time with "+08:00", or UTC "Z". */
static void lb_time(line_t *l, int64_t t_utc, bool z)
{
    int64_t t = z ? t_utc : t_utc + TZ_OFFSET_SEC;
    int64_t day = floor_div(t, SEC_PER_DAY);
    int64_t sec = t - day * SEC_PER_DAY;
    LB_LIT(l, "\"");
    lb_date(l, (kh_day_t)day);
    LB_LIT(l, "T");
    lb_uint(l, (uint64_t)(sec / 3600), 2);
    LB_LIT(l, ":");
    lb_uint(l, (uint64_t)(sec / 60 % 60), 2);
    LB_LIT(l, ":");
    lb_uint(l, (uint64_t)(sec % 60), 2);
    if (z)
        LB_LIT(l, "Z\"");
    else
        LB_LIT(l, "+08:00\"");
}

/* ------------------------------------------------------------------ */
/* the run: generating, sorting and writing lines                       */
/* ------------------------------------------------------------------ */

typedef struct rec {
    int64_t key;  /* emission order, seconds */
    uint64_t off; /* text in the arena */
    uint32_t seq; /* generation order, breaks key ties */
    uint32_t len;
    uint8_t type;
    uint8_t dup; /* an intentional resend */
} rec_t;

typedef struct run {
    kh_sim_t *sim;
    const kh_simulate_opts_t *o;
    rng_t rng;
    line_t line;
    int64_t line_time; /* the instant of the line being built */
    kh_evtype_t line_type;
    char *arena, *arena2;
    size_t alen, acap, acap2;
    rec_t *recs;
    size_t nrecs, rcap;
    uint32_t seq;
    uint64_t ndispatch, nlegal, nassessor, ncase;
    size_t defect_perm[NDEFECTS];
    size_t defect_cursor;
    char *out_buf;
    size_t out_len;
    FILE *out;
    kh_simulate_stats_t *stats;
    int err;
} run_t;

static int64_t local_start(kh_day_t d)
{
    return (int64_t)d * SEC_PER_DAY - TZ_OFFSET_SEC;
}

/* A random instant on county day d between hour h0 and h1 (exclusive),
 * whole minutes. */
static int64_t at(run_t *r, kh_day_t d, int h0, int h1)
{
    return local_start(d) + (int64_t)rng_range(&r->rng, h0 * 60, h1 * 60 - 1) * 60;
}

static bool arena_reserve(run_t *r, size_t n)
{
    if (r->alen + n <= r->acap)
        return true;
    size_t cap = r->acap ? r->acap : (1u << 20);
    while (cap < r->alen + n)
        cap *= 2;
    char *a = realloc(r->arena, cap);
    if (!a)
        return false;
    r->arena = a;
    r->acap = cap;
    return true;
}

static bool rec_add(run_t *r, int64_t key, uint64_t off, uint32_t len, bool dup)
{
    if (r->nrecs == r->rcap) {
        size_t cap = r->rcap ? r->rcap * 2 : 4096;
        rec_t *recs = realloc(r->recs, cap * sizeof *recs);
        if (!recs)
            return false;
        r->recs = recs;
        r->rcap = cap;
    }
    r->recs[r->nrecs++] = (rec_t){.key = key,
                                  .off = off,
                                  .seq = r->seq++,
                                  .len = len,
                                  .type = (uint8_t)r->line_type,
                                  .dup = dup};
    return true;
}

/* Starts a line: the common fields in the example's order. */
static void ev_begin(run_t *r, const char *id, kh_evtype_t type, int64_t t_utc, bool z,
                     const char *station)
{
    line_t *l = &r->line;
    l->len = 0;
    l->overflow = false;
    r->line_time = t_utc;
    r->line_type = type;
    LB_LIT(l, "{\"id\": ");
    lb_jstr(l, id);
    f_str(l, "source", source_names[type_source(type)]);
    f_str(l, "type", type_names[type]);
    lb_key(l, "time");
    lb_time(l, t_utc, z);
    f_str(l, "station", station);
}

/* Ends the line and queues it under emission key `key`; now and then
 * queues an exact resend of it too (a source retrying). Lines after the
 * cut (opts.until) are dropped. */
static void ev_end(run_t *r, int64_t key)
{
    line_t *l = &r->line;
    LB_LIT(l, "}\n");
    if (l->overflow) {
        r->err = KH_ERANGE; /* a bug: every line is far below LINE_CAP */
        return;
    }
    if (r->o->until && r->line_time > r->o->until / KH_USEC_PER_SEC)
        return;
    if (!arena_reserve(r, l->len)) {
        r->err = KH_ENOMEM;
        return;
    }
    uint64_t off = r->alen;
    memcpy(r->arena + off, l->buf, l->len);
    r->alen += l->len;
    if (!rec_add(r, key, off, (uint32_t)l->len, false))
        r->err = KH_ENOMEM;
    else if (rng_chance(&r->rng, 4) &&
             !rec_add(r, key + rng_range(&r->rng, 60, 7200), off, (uint32_t)l->len, true))
        r->err = KH_ENOMEM;
}

/* "CODE-000042": the station's next event id. */
static void station_id(sim_station_t *st, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s-%06u", st->code, (unsigned)++st->seq);
}

/* A station feed's line: times mostly in county time, some in UTC; sent
 * within half an hour of the event. */
static void st_begin(run_t *r, sim_station_t *st, kh_evtype_t type, int64_t t)
{
    char id[KH_ID_MAX + 1];
    station_id(st, id, sizeof id);
    ev_begin(r, id, type, t, rng_chance(&r->rng, 50), st->code);
}

static void st_end(run_t *r, int64_t t)
{
    ev_end(r, t + rng_range(&r->rng, 0, 1800));
}

/* ------------------------------------------------------------------ */
/* station events                                                       */
/* ------------------------------------------------------------------ */

/* The days [from, to] of month [d0, d1] when place p is open; false when
 * it is not open at all that month. */
static bool place_days(const sim_place_t *p, kh_day_t d0, kh_day_t d1, kh_day_t *from,
                       kh_day_t *to)
{
    *from = p->opened > d0 ? p->opened : d0;
    *to = (p->closed != KH_DAY_NONE && p->closed < d1) ? p->closed : d1;
    return *from <= *to;
}

static void ev_place(run_t *r, sim_station_t *st, const sim_place_t *p, int64_t t,
                     bool with_closed)
{
    st_begin(r, st, KH_EV_PLACE, t);
    f_str(&r->line, "place_id", p->id);
    f_str(&r->line, "category", category_names[p->cat]);
    f_str(&r->line, "name", p->name);
    f_date(&r->line, "opened", p->opened);
    if (with_closed)
        f_date(&r->line, "closed", p->closed);
    st_end(r, t);
}

static void ev_inspection(run_t *r, sim_station_t *st, const sim_place_t *p,
                          kh_inspection_kind_t kind, kh_day_t d)
{
    int64_t t = at(r, d, 9, 18);
    st_begin(r, st, KH_EV_INSPECTION, t);
    f_str(&r->line, "place_id", p->id);
    f_str(&r->line, "kind", inspection_names[kind]);
    f_bool(&r->line, "in_platform", rng_chance(&r->rng, 950));
    st_end(r, t);
}

static void ev_patrol(run_t *r, sim_station_t *st, kh_patrol_kind_t kind,
                      const char *patrol_id, int64_t t, bool has_record, bool has_images)
{
    static const char *const notes[] = {"夜间巡逻", "重点部位巡查", "校园周边巡逻",
                                        "集市巡逻"};
    st_begin(r, st, KH_EV_PATROL, t);
    f_str(&r->line, "patrol_id", patrol_id);
    f_str(&r->line, "kind", patrol_names[kind]);
    f_bool(&r->line, "has_record", has_record);
    f_bool(&r->line, "has_images", has_images);
    if (rng_chance(&r->rng, 30))
        f_str(&r->line, "note", notes[rng_below(&r->rng, 4)]);
    st_end(r, t);
}

/* A count of per-month activity, scaled: n * scale rounded at random so
 * the mean is exact. */
static int scaled(run_t *r, int n)
{
    double x = (double)n * r->o->scale;
    int whole = (int)x;
    return whole + (rng_unit(&r->rng) < x - whole ? 1 : 0);
}

/* Patrols of one kind in days [d0, d1]: n of them, a few without record
 * or images, a few re-reported with the same patrol_id (a correction that
 * adds the record), which then counts once, at its later date. */
static void patrols(run_t *r, sim_station_t *st, kh_patrol_kind_t kind, int m, int n,
                    kh_day_t d0, kh_day_t d1, int *serial)
{
    static const char letter[] = {'R', 'T', 'P'};
    for (int i = 0; i < n; i++) {
        char pid[24];
        snprintf(pid, sizeof pid, "%c%02d%03d", letter[kind], m, ++*serial);
        kh_day_t d = d0 + (kh_day_t)rng_below(&r->rng, (uint32_t)(d1 - d0 + 1));
        int64_t t = at(r, d, 8, 23);
        bool rec = rng_chance(&r->rng, 960);
        bool img = rng_chance(&r->rng, 850);
        ev_patrol(r, st, kind, pid, t, rec, img);
        if (rng_chance(&r->rng, 30)) {
            /* The re-report stays in the same month (before 23:00 of its
             * last day), so it moves no patrol across a month. */
            int64_t last = local_start(d1) + 23 * 3600;
            int64_t t2 = t + (int64_t)rng_range(&r->rng, 1, 4) * SEC_PER_DAY;
            if (t2 > last)
                t2 = last > t ? last : t + 60;
            ev_patrol(r, st, kind, pid, t2, true, true);
        }
    }
}

/* The patrol plan of quarter q (1-4) filed on day d; 15% incomplete (one
 * of the five parts missing), and some of those then corrected. */
static void plan(run_t *r, sim_station_t *st, int q, kh_day_t d, kh_day_t last)
{
    static const char *const parts[] = {"zones", "routes", "focal_points", "time_slots",
                                        "forces"};
    char quarter[32];
    snprintf(quarter, sizeof quarter, "%04d-Q%d", r->o->year, q);
    int missing = rng_chance(&r->rng, 150) ? (int)rng_below(&r->rng, 5) : -1;
    int64_t t = at(r, d, 9, 17);
    st_begin(r, st, KH_EV_PATROL_PLAN, t);
    f_str(&r->line, "quarter", quarter);
    for (int i = 0; i < 5; i++)
        f_bool(&r->line, parts[i], i != missing);
    st_end(r, t);
    if (missing >= 0 && d + 7 <= last && rng_chance(&r->rng, 300)) {
        int64_t t2 = at(r, d + 7, 9, 17);
        st_begin(r, st, KH_EV_PATROL_PLAN, t2);
        f_str(&r->line, "quarter", quarter);
        for (int i = 0; i < 5; i++)
            f_bool(&r->line, parts[i], true);
        st_end(r, t2);
    }
}

static void rate(run_t *r, sim_station_t *st, kh_metric_t metric, unsigned tenths,
                 kh_day_t d)
{
    int64_t t = at(r, d, 9, 18);
    st_begin(r, st, KH_EV_RATE, t);
    f_str(&r->line, "metric", metric_names[metric]);
    f_tenths(&r->line, "value", tenths);
    st_end(r, t);
}

/* Places: registered in the first simulated month (or when they open
 * later), re-reported with "closed" when they close; inspections,
 * occupancy and on-site checks while open. */
static void places_month(run_t *r, sim_station_t *st, int m, kh_day_t d0, kh_day_t d1)
{
    for (size_t i = 0; i < st->nplaces; i++) {
        const sim_place_t *p = &st->places[i];
        kh_day_t reg = KH_DAY_NONE;
        if (m == r->o->first_month && p->opened <= d1)
            reg = p->opened > d0 ? p->opened
                                 : d0 + (kh_day_t)(rng_chance(&r->rng, 850)
                                                       ? (int)rng_below(&r->rng, 3)
                                                       : rng_range(&r->rng, 3, 19));
        else if (m != r->o->first_month && p->opened >= d0 && p->opened <= d1)
            reg = p->opened;
        if (reg != KH_DAY_NONE) {
            kh_day_t d = reg + (kh_day_t)rng_below(&r->rng, 3);
            ev_place(r, st, p, at(r, d > d1 ? d1 : d, 8, 12), false);
        }
        if (p->closed != KH_DAY_NONE && p->closed >= d0 && p->closed <= d1) {
            kh_day_t d = p->closed + (kh_day_t)rng_below(&r->rng, 3);
            ev_place(r, st, p, at(r, d > d1 ? d1 : d, 13, 18), true);
        }

        kh_day_t from, to;
        if (!place_days(p, d0, d1, &from, &to))
            continue;
        uint32_t span = (uint32_t)(to - from + 1);
        unsigned chance;
        switch (p->cat) {
        case KH_CAT_HOTEL:
        case KH_CAT_SPECIAL_INDUSTRY:
            chance = 930; /* 1.1.2a: monthly, a few missed */
            break;
        case KH_CAT_FILING_INDUSTRY:
            chance = 470; /* 1.1.3b: about 85% of quarters */
            break;
        default:
            chance = 150;
            break;
        }
        if (rng_chance(&r->rng, chance)) {
            ev_inspection(r, st, p, KH_INSP_SAFETY,
                          from + (kh_day_t)rng_below(&r->rng, span));
            if (chance == 930 && rng_chance(&r->rng, 120))
                ev_inspection(r, st, p, KH_INSP_SAFETY,
                              from + (kh_day_t)rng_below(&r->rng, span));
        }
        if (p->cat == KH_CAT_HOTEL) {
            /* 1.1.2c: the month's occupancy, reported on its last open
             * day; below 10% mostly brings an on-site check. */
            unsigned occ = rng_chance(&r->rng, 90)
                               ? (unsigned)rng_range(&r->rng, 10, 99)
                               : (unsigned)rng_range(&r->rng, 100, 960);
            if (occ < 100 && rng_chance(&r->rng, 750))
                ev_inspection(r, st, p, KH_INSP_ONSITE,
                              from + (kh_day_t)rng_below(&r->rng, span));
            char month[32];
            snprintf(month, sizeof month, "%04d-%02d", r->o->year, m);
            int64_t t = at(r, to, 18, 22);
            st_begin(r, st, KH_EV_OCCUPANCY, t);
            f_str(&r->line, "place_id", p->id);
            f_str(&r->line, "month", month);
            f_tenths(&r->line, "rate", occ);
            st_end(r, t);
        }
    }
}

static void station_month(run_t *r, sim_station_t *st, int m)
{
    const kh_simulate_opts_t *o = r->o;
    kh_day_t d0 = kh_day_from_civil(o->year, m, 1);
    int nd = kh_days_in_month(o->year, m);
    kh_day_t d1 = d0 + nd - 1;
    rng_t *g = &r->rng;

    places_month(r, st, m, d0, d1);

    /* 5.2.1/5.2.2: prevention patrols around the class's requirement;
     * the 城区三所 patrol a little more. */
    int req = required_patrols[st->klass];
    int n = rng_range(g, req - 3 > 4 ? req - 3 : 4, req + 4);
    if (st->urban)
        n += rng_range(g, 0, 2);
    int serial = 0;
    patrols(r, st, KH_PATROL_PREVENTION, m, scaled(r, n), d0, d1, &serial);
    /* 4.4: resident patrols, class 1 needs two a month. */
    static const unsigned w012[] = {15, 60, 25};
    n = st->klass == 1 ? (rng_chance(g, 80) ? 0 : rng_range(g, 1, 3))
                       : (int)rng_pick(g, w012, 3);
    serial = 0;
    patrols(r, st, KH_PATROL_RESIDENT, m, scaled(r, n), d0, d1, &serial);
    /* 4.6.2: team patrols, class 1 every half-month. */
    serial = 0;
    if (st->klass == 1) {
        patrols(r, st, KH_PATROL_TEAM, m, scaled(r, (int)rng_pick(g, w012, 3)), d0,
                d0 + 14, &serial);
        patrols(r, st, KH_PATROL_TEAM, m, scaled(r, (int)rng_pick(g, w012, 3)), d0 + 15,
                d1, &serial);
    } else {
        patrols(r, st, KH_PATROL_TEAM, m, scaled(r, (int)rng_pick(g, w012, 3)), d0, d1,
                &serial);
    }

    /* 4.1: notices; the 城区三所 post most of theirs. */
    static const unsigned notice_w[] = {10, 60, 30};
    n = scaled(r, (int)rng_pick(g, notice_w, 3));
    for (int i = 0; i < n; i++) {
        int64_t t = at(r, d0 + (kh_day_t)rng_below(g, (uint32_t)nd), 9, 18);
        st_begin(r, st, KH_EV_NOTICE, t);
        f_bool(&r->line, "posted", rng_chance(g, st->urban ? 850 : 600));
        st_end(r, t);
    }
    /* 4.2: education, quarterly in town, half-yearly elsewhere. */
    n = scaled(r, rng_chance(g, st->urban ? 400 : 200) ? 1 : 0);
    for (int i = 0; i < n; i++) {
        int64_t t = at(r, d0 + (kh_day_t)rng_below(g, (uint32_t)nd), 9, 17);
        st_begin(r, st, KH_EV_EDUCATION, t);
        f_bool(&r->line, "has_record", rng_chance(g, 920));
        f_bool(&r->line, "has_images", rng_chance(g, 750));
        st_end(r, t);
    }
    /* 4.3: the monthly 治保主任例会, most months. */
    if (rng_chance(g, 880)) {
        int64_t t = at(r, d0 + (kh_day_t)rng_below(g, 10), 9, 11);
        st_begin(r, st, KH_EV_MEETING, t);
        st_end(r, t);
    }
    /* 4.6.2: the yearly team training. */
    if (st->training_month == m) {
        int64_t t = at(r, d0 + (kh_day_t)rng_below(g, (uint32_t)nd), 14, 17);
        st_begin(r, st, KH_EV_TRAINING, t);
        st_end(r, t);
    }
    /* 1.1.4: campaigns. */
    if (st->campaign_months & (1u << m)) {
        int64_t t = at(r, d0 + (kh_day_t)rng_below(g, (uint32_t)nd), 8, 20);
        st_begin(r, st, KH_EV_CAMPAIGN, t);
        f_bool(&r->line, "has_record", rng_chance(g, 900));
        st_end(r, t);
    }
    /* 5.1: a plan per quarter, decided in the quarter's first simulated
     * month: on time, a month late, or not at all. */
    int q = (m - 1) / 3 + 1;
    if ((m - 1) % 3 == 0 || m == o->first_month) {
        st->plan_month = 0;
        unsigned u = rng_below(g, 1000);
        if (u < 900)
            st->plan_month = m;
        else if (u < 960 && m % 3 != 0)
            st->plan_month = m + 1;
    }
    if (st->plan_month == m)
        plan(r, st, q, d0 + (kh_day_t)rng_below(g, 10), d1);

    /* 1.1.2b and 4.5: rates, quarterly and half-yearly. */
    kh_day_t late = d0 + 19 + (kh_day_t)rng_below(g, (uint32_t)(nd - 20));
    if (m % 3 == 0 && rng_chance(g, 800))
        rate(r, st, KH_METRIC_HOTEL_SYSTEM_COVERAGE,
             rng_chance(g, 550) ? 1000 : (unsigned)rng_range(g, 950, 999), late);
    if (m % 6 == 0) {
        if (rng_chance(g, 700))
            rate(r, st, KH_METRIC_COMMUNITY_INSTALL_RATE,
                 (unsigned)rng_range(g, 600, 1000), late);
        if (rng_chance(g, 700))
            rate(r, st, KH_METRIC_UNIT_INSTALL_RATE, (unsigned)rng_range(g, 600, 1000),
                 late);
    }

    /* Self-scores in the last simulated month; a few items twice (the
     * later one wins). */
    if (m == o->last_month && rng_chance(g, 600)) {
        n = rng_range(g, 3, 6);
        for (int i = 0; i < n; i++) {
            kh_day_t d = d1 - (kh_day_t)rng_below(g, 7);
            int64_t t = at(r, d, 9, 18);
            st_begin(r, st, KH_EV_SELF_SCORE, t);
            f_str(&r->line, "item", items[rng_below(g, NITEMS)]);
            f_tenths(&r->line, "points", 5u * (unsigned)rng_range(g, 0, 6));
            st_end(r, t);
        }
    }
}

/* ------------------------------------------------------------------ */
/* dispatch, legal and assessor events                                  */
/* ------------------------------------------------------------------ */

static void call_line(run_t *r, const char *station, const char *case_id, int kind,
                      int loc, int rev, bool void_, int64_t t, bool z, int64_t key)
{
    char id[24];
    snprintf(id, sizeof id, "D%08llu", (unsigned long long)++r->ndispatch);
    ev_begin(r, id, KH_EV_CALL, t, z, station);
    f_str(&r->line, "case_id", case_id);
    f_str(&r->line, "case_kind", case_kind_names[kind]);
    f_str(&r->line, "location", location_names[loc]);
    if (rev)
        f_uint(&r->line, "rev", (uint64_t)rev);
    if (void_)
        f_bool(&r->line, "void", true);
    ev_end(r, key);
}

static void review_line(run_t *r, const char *station, const char *case_id,
                        kh_outcome_t outcome, int suspects, int rev, int64_t t,
                        int64_t key)
{
    char id[24];
    snprintf(id, sizeof id, "L%08llu", (unsigned long long)++r->nlegal);
    ev_begin(r, id, KH_EV_LEGAL_REVIEW, t, rng_chance(&r->rng, 100), station);
    f_str(&r->line, "case_id", case_id);
    f_str(&r->line, "outcome", outcome_names[outcome]);
    if (outcome == KH_OUT_SUSPECTS_ARRESTED)
        f_uint(&r->line, "suspects", (uint64_t)suspects);
    if (rev)
        f_uint(&r->line, "rev", (uint64_t)rev);
    ev_end(r, key);
}

/* One case: its call, maybe a revision (location, kind or station) or a
 * void, maybe a legal review (a few arriving before the call, a few
 * revoked later). */
static void one_case(run_t *r, size_t si, int m, kh_day_t d0, int nd)
{
    kh_sim_t *sim = r->sim;
    rng_t *g = &r->rng;
    const char *station = sim->st[si].code;
    char case_id[32];
    snprintf(case_id, sizeof case_id, "A%04d%02d%06llu", r->o->year, m,
             (unsigned long long)++r->ncase);
    int kind = (int)rng_pick(g, kind_weights, KH_CASE_COUNT);
    int loc = (int)rng_pick(g, loc_weights, KH_LOC_COUNT);
    kh_day_t d = d0 + (kh_day_t)rng_below(g, (uint32_t)nd);
    int64_t t;
    bool z;
    if (rng_chance(g, 60)) {
        /* Close to local midnight, sent in UTC: 00:00-00:59 county time is
         * the previous day in UTC (2024-02-29T16:30:00Z is 1 March). */
        t = local_start(d) + (rng_chance(g, 500) ? rng_range(g, 0, 3599)
                                                 : SEC_PER_DAY - rng_range(g, 1, 1800));
        z = true;
    } else {
        t = local_start(d) + rng_range(g, 0, SEC_PER_DAY - 1);
        z = rng_chance(g, 150);
    }
    int64_t key = t + rng_range(g, 1, 5);
    call_line(r, station, case_id, kind, loc, 0, false, t, z, key);

    unsigned u = rng_below(g, 1000);
    bool voided = false;
    int rev = 0;
    if (u < 40) {
        /* rev 1 corrects the location or the kind */
        if (rng_chance(g, 550))
            loc = (loc + 1 + (int)rng_below(g, KH_LOC_COUNT - 1)) % KH_LOC_COUNT;
        else
            kind = (kind + 1 + (int)rng_below(g, KH_CASE_COUNT - 1)) % KH_CASE_COUNT;
        rev = 1;
    } else if (u < 55) {
        voided = true;
        rev = 1;
    } else if (u < 60 && sim->nst > 1) {
        /* rev 1 hands the case to the neighbouring station */
        station = sim->st[(si + 1) % sim->nst].code;
        rev = 1;
    }
    if (rev)
        call_line(r, station, case_id, kind, loc, rev, voided, t, z,
                  key + rng_range(g, 3600, 72 * 3600));
    if (voided)
        return;

    /* The legal department confirms some outcomes: the five kinds of
     * 5.2.3 most often. */
    unsigned caught, arrested;
    if (kind <= KH_CASE_CAR_THEFT) {
        caught = 120;
        arrested = 180;
    } else if (kind == KH_CASE_BURGLARY) {
        caught = 50;
        arrested = 150;
    } else {
        caught = 30;
        arrested = 80;
    }
    u = rng_below(g, 1000);
    if (u >= caught + arrested)
        return;
    kh_outcome_t outcome = u < caught ? KH_OUT_CAUGHT_IN_ACT : KH_OUT_SUSPECTS_ARRESTED;
    static const unsigned suspects_w[] = {60, 30, 10};
    int suspects = (int)rng_pick(g, suspects_w, 3) + 1;
    int64_t rt, rkey;
    if (rng_chance(g, 30)) {
        /* confirmed the same day and sent before dispatch's line */
        rt = t + rng_range(g, 1, 6) * 3600;
        rkey = key - rng_range(g, 60, 1800);
    } else {
        rt = local_start(d + rng_range(g, 1, 20)) + rng_range(g, 9, 17) * 3600 +
             rng_range(g, 0, 59) * 60;
        rkey = rt + rng_range(g, 0, 600);
    }
    review_line(r, station, case_id, outcome, suspects, 0, rt, rkey);
    if (rng_chance(g, 50)) {
        int64_t vt = rt + rng_range(g, 3, 30) * (int64_t)SEC_PER_DAY;
        review_line(r, station, case_id, KH_OUT_REVOKED, 0, 1, vt,
                    vt + rng_range(g, 0, 600));
    }
}

/* An assessor's finding: the defects in a seeded cycle, so that every item
 * and defect shows up once enough findings are made. */
static void finding(run_t *r, sim_station_t *st, kh_day_t d0, int nd)
{
    rng_t *g = &r->rng;
    const sim_defect_t *df = &defects[r->defect_perm[r->defect_cursor++ % NDEFECTS]];
    char id[24], place[64];
    snprintf(id, sizeof id, "F%08llu", (unsigned long long)++r->nassessor);
    int64_t t = at(r, d0 + (kh_day_t)rng_below(g, (uint32_t)nd), 9, 17);
    place[0] = '\0';
    if (df->place == PL_TEAM) {
        snprintf(place, sizeof place, "%s-G%02d", st->code, rng_range(g, 1, 4));
    } else if (df->place != PL_NONE && st->nplaces > 0) {
        size_t k = rng_below(g, (uint32_t)st->nplaces);
        if (df->place == PL_UNIT)
            for (size_t i = 0; i < st->nplaces; i++)
                if (st->places[(k + i) % st->nplaces].cat == KH_CAT_INTERNAL_UNIT) {
                    k = (k + i) % st->nplaces;
                    break;
                }
        snprintf(place, sizeof place, "%s", st->places[k].id);
    }
    ev_begin(r, id, KH_EV_FINDING, t, rng_chance(g, 50), st->code);
    f_str(&r->line, "item", df->item);
    f_str(&r->line, "defect", df->defect);
    if (place[0])
        f_str(&r->line, "place_id", place);
    if (df->step_t) {
        int steps = (df->max_t - df->min_t) / df->step_t;
        f_tenths(&r->line, "points",
                 (unsigned)(df->min_t + df->step_t * rng_range(g, 0, steps)));
    } else if (!place[0]) {
        f_uint(&r->line, "count", rng_chance(g, 850) ? 1 : 2);
    }
    f_str(&r->line, "note", df->note);
    ev_end(r, t + rng_range(g, 0, 3600));
}

/* ------------------------------------------------------------------ */
/* sorting and writing                                                  */
/* ------------------------------------------------------------------ */

static int rec_cmp(const void *a, const void *b)
{
    const rec_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void out_write(run_t *r, const char *s, size_t n)
{
    if (r->out_len + n > OUT_CAP) {
        if (fwrite(r->out_buf, 1, r->out_len, r->out) != r->out_len)
            r->err = KH_EIO;
        r->out_len = 0;
    }
    memcpy(r->out_buf + r->out_len, s, n);
    r->out_len += n;
}

/* Writes the queued lines keyed before `until_key` in order and keeps the
 * rest, compacting their text into the spare arena. */
static void flush(run_t *r, int64_t until_key)
{
    qsort(r->recs, r->nrecs, sizeof *r->recs, rec_cmp);
    size_t i = 0;
    for (; i < r->nrecs && r->recs[i].key < until_key && !r->err; i++) {
        const rec_t *x = &r->recs[i];
        out_write(r, r->arena + x->off, x->len);
        if (r->stats) {
            r->stats->lines++;
            r->stats->duplicates += x->dup;
            r->stats->by_type[x->type]++;
        }
    }
    size_t keep = r->nrecs - i, need = 0;
    for (size_t k = i; k < r->nrecs; k++)
        need += r->recs[k].len;
    if (need > r->acap2) {
        char *a = realloc(r->arena2, need);
        if (!a) {
            r->err = KH_ENOMEM;
            return;
        }
        r->arena2 = a;
        r->acap2 = need;
    }
    size_t off = 0;
    for (size_t k = 0; k < keep; k++) {
        rec_t x = r->recs[i + k];
        memcpy(r->arena2 + off, r->arena + x.off, x.len);
        x.off = off;
        off += x.len;
        r->recs[k] = x;
    }
    r->nrecs = keep;
    char *a = r->arena;
    size_t cap = r->acap;
    r->arena = r->arena2;
    r->acap = r->acap2;
    r->arena2 = a;
    r->acap2 = cap;
    r->alen = off;
}

int kh_simulate_write_events(kh_sim_t *sim, FILE *out, kh_simulate_stats_t *stats)
{
    const kh_simulate_opts_t *o = &sim->o;
    run_t *r = calloc(1, sizeof *r);
    if (!r)
        return KH_ENOMEM;
    r->sim = sim;
    r->o = o;
    r->out = out;
    r->stats = stats;
    if (stats)
        memset(stats, 0, sizeof *stats);
    rng_seed(&r->rng, o->seed, STREAM_EVENTS);
    r->out_buf = malloc(OUT_CAP);
    if (!r->out_buf)
        r->err = KH_ENOMEM;
    /* The findings' cycle through the defects, shuffled by the seed. */
    for (size_t i = 0; i < NDEFECTS; i++)
        r->defect_perm[i] = i;
    for (size_t i = NDEFECTS - 1; i > 0; i--) {
        size_t j = rng_below(&r->rng, (uint32_t)(i + 1));
        size_t tmp = r->defect_perm[i];
        r->defect_perm[i] = r->defect_perm[j];
        r->defect_perm[j] = tmp;
    }
    for (size_t i = 0; i < sim->nst; i++) {
        sim->st[i].seq = 0;
        sim->st[i].plan_month = 0;
    }

    for (int m = o->first_month; m <= o->last_month && !r->err; m++) {
        kh_day_t d0 = kh_day_from_civil(o->year, m, 1);
        int nd = kh_days_in_month(o->year, m);
        for (size_t si = 0; si < sim->nst && !r->err; si++) {
            sim_station_t *st = &sim->st[si];
            station_month(r, st, m);
            /* Calls: the town sees more cases than the townships. */
            int n = scaled(r, st->urban ? rng_range(&r->rng, 8, 16)
                                        : rng_range(&r->rng, 3, 9));
            for (int i = 0; i < n; i++)
                one_case(r, si, m, d0, nd);
            int nf = scaled(r, rng_chance(&r->rng, 350) ? 1 : 0);
            for (int i = 0; i < nf; i++)
                finding(r, st, d0, nd);
        }
        if (!r->err)
            flush(r, m < o->last_month ? local_start(d0 + nd) : INT64_MAX);
    }
    if (!r->err && r->out_len && fwrite(r->out_buf, 1, r->out_len, out) != r->out_len)
        r->err = KH_EIO;
    if (!r->err && (fflush(out) != 0 || ferror(out)))
        r->err = KH_EIO;
    int rc = r->err;
    free(r->out_buf);
    free(r->arena);
    free(r->arena2);
    free(r->recs);
    free(r);
    return rc;
}
