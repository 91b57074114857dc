/* RFC 8555 section 6.7 problem documents. */
#ifndef ACME_CORE_PROBLEM_H
#define ACME_CORE_PROBLEM_H

#include <stdarg.h>

struct json_object;

enum acme_prob {
	PROB_NONE = 0,
	PROB_ACCOUNT_DOES_NOT_EXIST,
	PROB_ALREADY_REPLACED,
	PROB_ALREADY_REVOKED,
	PROB_BAD_CSR,
	PROB_BAD_NONCE,
	PROB_BAD_PUBLIC_KEY,
	PROB_BAD_REVOCATION_REASON,
	PROB_BAD_SIGNATURE_ALGORITHM,
	PROB_CAA,
	PROB_COMPOUND,
	PROB_CONNECTION,
	PROB_DNS,
	PROB_EXTERNAL_ACCOUNT_REQUIRED,
	PROB_INCORRECT_RESPONSE,
	PROB_INVALID_CONTACT,
	PROB_INVALID_PROFILE,
	PROB_MALFORMED,
	PROB_ORDER_NOT_READY,
	PROB_RATE_LIMITED,
	PROB_REJECTED_IDENTIFIER,
	PROB_SERVER_INTERNAL,
	PROB_TLS,
	PROB_UNAUTHORIZED,
	PROB_UNSUPPORTED_CONTACT,
	PROB_UNSUPPORTED_IDENTIFIER,
	PROB_USER_ACTION_REQUIRED,
	PROB__MAX
};

/* A problem being built. status 0 means the type's usual status. */
struct acme_problem {
	enum acme_prob type;
	int status;
	char detail[512];
	struct json_object *sub;     /* array of subproblems, or NULL; owned */
	struct json_object *extra;   /* extra members (e.g. "algorithms"), or NULL; owned */
};

/* "urn:ietf:params:acme:error:<name>". */
const char *acme_prob_urn(enum acme_prob t);
/* The short name ("malformed"). */
const char *acme_prob_name(enum acme_prob t);
/* The HTTP status the reference servers use for t. */
int acme_prob_status(enum acme_prob t);
/* The type whose URN is urn, or PROB_NONE. */
enum acme_prob acme_prob_from_urn(const char *urn);

/* Set type and detail (printf-style); keeps any subproblems. Returns -1, so
 * that handlers can write `return acme_problem_set(...)`. */
int acme_problem_set(struct acme_problem *p, enum acme_prob t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int acme_problem_vset(struct acme_problem *p, enum acme_prob t, const char *fmt, va_list ap);
/* Same with an explicit HTTP status. */
int acme_problem_status(struct acme_problem *p, enum acme_prob t, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Add a subproblem naming identifier (type "dns"/"ip", value) or none (NULL). */
void acme_problem_sub(struct acme_problem *p, enum acme_prob t, const char *id_type,
    const char *id_value, const char *detail);

/* Add a member to the document (takes ownership of val). */
void acme_problem_extra(struct acme_problem *p, const char *key, struct json_object *val);

/* The HTTP status to send. */
int acme_problem_http_status(const struct acme_problem *p);

/* The document as JSON text (malloc'd; caller frees), or NULL on ENOMEM. */
char *acme_problem_json(const struct acme_problem *p);

/* Release subproblems and extras; the struct is reset to PROB_NONE. */
void acme_problem_clear(struct acme_problem *p);

#endif
