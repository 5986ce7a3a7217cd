/*
 * kh_catalog.h - the rule catalog (SPEC section 4), loaded from data
 * (rules/catalog.json) at start.
 *
 * The catalog lists the sections (一 治安管理 15, 四 安全防范 15, 五 巡逻防控
 * 10), their items in the standard's order with the standard's own columns
 * (项目 内容 标准 分值 方法 考核周期 数据来源 备注), and for each item the
 * rules the engine in kh_score.c evaluates, as parameters: a county adds a
 * section or changes an amount by editing data, not code.
 *
 * The finding defects of each item are public because kh_event_check()
 * validates findings against them (item, defect, points in range). The
 * rules' parameters (kh_rule_t) are public because the engine reads them;
 * the JSON format is described at the top of kh_catalog.c.
 */
#ifndef KH_CATALOG_H
#define KH_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "kh_event.h"
#include "kh_points.h"

typedef struct kh_defect {
    char code[KH_DEFECT_MAX + 1];
    bool ranged;         /* points given by the finding, within [min, max] */
    kh_milli_t fixed;    /* per count, when not ranged */
    kh_milli_t min, max; /* when ranged */
    bool each_time;      /* counts every time (late_update), not once per place */
} kh_defect_t;

typedef struct kh_section {
    char id[8];      /* "1", "4", "5" */
    char title[128]; /* "治安管理" */
    kh_milli_t max;  /* 15000 */
} kh_section_t;

/*
 * The rule kinds the engine in kh_score.c knows. A catalog rule is one of
 * them with its parameters; the engine dispatches on the kind and never on
 * a rule id. The catalog names them in JSON as in kh_rule_kind_name().
 */
typedef enum {
    KH_RULE_FINDING = 0,      /* "finding": the item's finding defects */
    KH_RULE_CASE,             /* "case": calls of some kinds at some places,
                                 legal-review waivers and bonuses */
    KH_RULE_COUNT_PER_PERIOD, /* "count_per_period": >= N counted events a
                                 period, per missing, optional image rule */
    KH_RULE_EVERY_SUBPERIOD,  /* "every_subperiod": a period in which some
                                 sub-period had no counted event, once */
    KH_RULE_PLACE_INSPECTION, /* "place_inspection": each due place of some
                                 categories needs counted inspections */
    KH_RULE_OCCUPANCY_CHECK,  /* "occupancy_check": a low occupancy month
                                 needs a counted inspection of the place */
    KH_RULE_RATE,             /* "rate": whole steps below a target */
    KH_RULE_PLAN,             /* "plan": one plan a quarter, complete */
    KH_RULE_URBAN_RANK,       /* "urban_rank": per month, behind the top of
                                 the urban stations */
    KH_RULE__COUNT
} kh_rule_kind_t;

/* "finding", "case", ...; NULL when out of range. */
const char *kh_rule_kind_name(kh_rule_kind_t kind);

/* The flags a record must carry to be counted (SPEC: "counted" records). */
#define KH_FLAG_HAS_RECORD  1u
#define KH_FLAG_HAS_IMAGES  2u
#define KH_FLAG_IN_PLATFORM 4u
#define KH_FLAG_POSTED      8u

/*
 * Values that depend on the station are resolved at load time into a
 * table indexed [urban][class] (class 1..3, index 0 unused). In the JSON a
 * plain value applies to every station; an object picks by "urban" (an
 * urban station), then by class ("1", "2", "3"), then "default".
 */
#define KH_BY_STATION(type)                                                              \
    struct {                                                                             \
        type of[2][4];                                                                   \
    }

/* Which counted events a rule looks at. */
typedef struct kh_match {
    kh_evtype_t event;
    int kind;                        /* patrol or inspection kind; -1: any */
    KH_BY_STATION(unsigned) require; /* KH_FLAG_* bits that must be true */
} kh_match_t;

/* Which stations a rule applies to. */
typedef enum { KH_APPLIES_ALL = 0, KH_APPLIES_URBAN, KH_APPLIES_NON_URBAN } kh_applies_t;

/*
 * One rule's parameters. Amounts are positive milli-points. Which fields
 * a kind reads is documented in kh_catalog.c beside its loader.
 */
typedef struct kh_rule {
    kh_rule_kind_t kind;
    kh_applies_t applies;
    char *what;       /* a noun for explain sentences, owned */
    kh_match_t match; /* the counted events */
    KH_BY_STATION(kh_period_kind_t) period;
    kh_period_kind_t subperiod;      /* every_subperiod */
    KH_BY_STATION(int32_t) required; /* counts required a period */
    bool required_policy;            /* required = policy required_patrols */
    kh_milli_t points;               /* per missing / per case / per step / once */
    kh_milli_t image_points;         /* a period whose counted events lack images */
    kh_milli_t incomplete_points;    /* plan: the latest plan incomplete */
    unsigned plan_fields;            /* plan: KH_PLAN_* that must be true */
    bool case_kinds[KH_CASE_COUNT];  /* case */
    bool case_kinds_policy;          /* case: policy three_class_kinds */
    bool locations[KH_LOC_COUNT];    /* case */
    bool in_act_waives;              /* case: caught in the act, no deduction */
    kh_milli_t in_act_bonus;         /* case: bonus when caught in the act */
    kh_milli_t suspect_bonus;        /* case: bonus per suspect arrested */
    bool categories[KH_CAT_COUNT];   /* place rules */
    kh_milli_t below;                /* occupancy: a rate below it */
    kh_metric_t metric;              /* rate */
    kh_milli_t target, step;         /* rate: shortfall counted in steps */
} kh_rule_t;

#define KH_PLAN_ZONES        1u
#define KH_PLAN_ROUTES       2u
#define KH_PLAN_FOCAL_POINTS 4u
#define KH_PLAN_TIME_SLOTS   8u
#define KH_PLAN_FORCES       16u

typedef struct kh_item {
    char id[KH_ITEM_MAX + 1]; /* "1.1.2a" */
    size_t section;           /* index into the sections */
    /* the standard's columns, UTF-8 */
    char *project;  /* 项目 */
    char *content;  /* 内容 */
    char *standard; /* 标准 */
    char *value;    /* 分值 */
    char *method;   /* 方法 */
    char *cycle;    /* 考核周期 */
    char *source;   /* 数据来源 */
    char *remark;   /* 备注 */
    kh_defect_t *defects;
    size_t ndefects;
    struct kh_rule *rules;
    size_t nrules;
} kh_item_t;

typedef struct kh_catalog {
    char *title; /* "社区治安防范考核标准", owned, may be "" */
    kh_section_t *sections;
    size_t nsections;
    kh_item_t *items; /* in the standard's order, grouped by section */
    size_t nitems;
} kh_catalog_t;

/*
 * Loads and validates a catalog from a file or from memory (the fuzzer's
 * entry). On error returns KH_ECONFIG (KH_EIO, KH_ENOMEM) and writes a
 * message naming the field into err.
 */
int kh_catalog_load(kh_catalog_t **out, const char *path, char *err, size_t errlen);
int kh_catalog_load_mem(kh_catalog_t **out, const char *text, size_t len, char *err,
                        size_t errlen);
void kh_catalog_free(kh_catalog_t **self_p);

/* The first rule of a kind in the catalog (for the 城区三所 ranking), or
 * NULL. *item_out (may be NULL) receives its item's index. */
const kh_rule_t *kh_catalog_find_rule(const kh_catalog_t *cat, kh_rule_kind_t kind,
                                      size_t *item_out);

/* Index of an item by id, or -1. */
int kh_catalog_find_item(const kh_catalog_t *cat, const char *id);
/* A defect of an item, or NULL. */
const kh_defect_t *kh_catalog_find_defect(const kh_catalog_t *cat, const char *item,
                                          const char *defect);

/* The default catalog path: $KAOHE_RULES, else the installed
 * share/kaohe/catalog.json, else rules/catalog.json beside the source. */
const char *kh_catalog_default_path(void);

#endif
