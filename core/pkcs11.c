/*
 * PKCS#11 CA keys. OpenSSL 3.0 as Debian 12 ships it has no pkcs11 provider
 * package, so the fallback is the libp11 engine; ENGINE_* is deprecated in
 * OpenSSL 3, and this file is the only one that uses it (hence the
 * OPENSSL_SUPPRESS_DEPRECATED below, before any OpenSSL header).
 *
 * Per process: the engine's functional reference is taken by the process
 * that loads a key and kept for its life. acme-fcgi's master never loads the
 * CA; each worker does, after fork, in acme_ctx_new(). A process that
 * inherits an initialised engine from its parent (a test, acme-admin) does
 * not use the parent's reference: it takes one of its own, and libp11 sees
 * the new pid and calls C_Initialize (and logs in) again before the token is
 * used in the child, as PKCS#11 requires.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/store.h>
#include <openssl/ui.h>

#include "core/log.h"
#include "core/pkcs11.h"
#include "core/secret.h"

#define SOFTHSM_MODULE "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"
#define P11KIT_MODULE  "p11-kit-proxy.so"
#define URI_SCHEME     "pkcs11:"
#define PIN_ATTR       "pin-value="
#define REDACT_MAX     512     /* a URI in a log line is cut here */

static ENGINE *p11_engine;            /* functional reference of p11_pid */
static pid_t p11_pid;
static char p11_module[PATH_MAX];     /* the module p11_engine was given */

int
pkcs11_is_uri(const char *s)
{
	return s != NULL && strncmp(s, URI_SCHEME, sizeof(URI_SCHEME) - 1) == 0;
}

const char *
pkcs11_default_module(void)
{
	return access(SOFTHSM_MODULE, R_OK) == 0 ? SOFTHSM_MODULE : P11KIT_MODULE;
}

static int
is_sep(char c)
{
	return c == ';' || c == '?' || c == '&';
}

const char *
pkcs11_uri_redact(const char *uri, char *buf, size_t size)
{
	size_t o = 0;
	const char *p = uri;
	int at_attr = 0;

	if (size == 0)
		return buf;
	if (pkcs11_is_uri(uri)) {
		at_attr = 1;
		for (; o + 1 < size && o < sizeof(URI_SCHEME) - 1; o++)
			buf[o] = *p++;
	}
	while (*p != '\0' && o + 1 < size) {
		if (at_attr && strncmp(p, PIN_ATTR, sizeof(PIN_ATTR) - 1) == 0) {
			for (; o + 1 < size && *p != '='; p++)
				buf[o++] = *p;
			while (*p != '\0' && !is_sep(*p))
				p++;
			if (o + 4 < size) {
				memcpy(buf + o, "=***", 4);
				o += 4;
			} else {
				break;
			}
			continue;
		}
		at_attr = is_sep(*p);
		buf[o++] = *p++;
	}
	buf[o] = '\0';
	return buf;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode n bytes of s into a new string (RFC 3986); NULL on a bad
 * escape, an encoded NUL, or no memory. */
static char *
pct_decode(const char *s, size_t n)
{
	char *out, *o;
	size_t i;
	int h, l;

	if ((out = o = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0 ||
		    (h == 0 && l == 0)) {
			OPENSSL_cleanse(out, n + 1);
			free(out);
			return NULL;
		}
		*o++ = (char)(h << 4 | l);
		i += 2;
	}
	*o = '\0';
	return out;
}

void
pkcs11_pin_free(char *pin)
{
	if (pin == NULL)
		return;
	OPENSSL_cleanse(pin, strlen(pin));
	free(pin);
}

/* Copy the attributes of [s, end), separated by sep, to out at *o, all but
 * pin-value, whose decoded value goes to *pin. The first one kept is
 * preceded by lead (none when '\0'). */
static enum acme_err
take_attrs(const char *s, const char *end, char sep, char lead, char *out, size_t *o,
    char **pin)
{
	const char *a, *e;
	size_t n;
	int kept = 0;

	for (a = s; a < end; a = e + 1) {
		if ((e = memchr(a, sep, (size_t)(end - a))) == NULL)
			e = end;
		if ((n = (size_t)(e - a)) == 0)
			continue;
		if (n >= sizeof(PIN_ATTR) - 1 && strncmp(a, PIN_ATTR, sizeof(PIN_ATTR) - 1) == 0) {
			if (*pin != NULL)
				return ACME_EINVAL;     /* two PINs */
			*pin = pct_decode(a + sizeof(PIN_ATTR) - 1, n - (sizeof(PIN_ATTR) - 1));
			if (*pin == NULL || (*pin)[0] == '\0')
				return ACME_EINVAL;
			continue;
		}
		if (kept++ > 0)
			out[(*o)++] = sep;
		else if (lead != '\0')
			out[(*o)++] = lead;
		memcpy(out + *o, a, n);
		*o += n;
	}
	return ACME_OK;
}

enum acme_err
pkcs11_uri_split_pin(const char *uri, char **without, char **pin)
{
	const char *path, *query, *end;
	char *out = NULL, *found = NULL;
	size_t o;
	enum acme_err rc = ACME_EINVAL;

	*without = NULL;
	*pin = NULL;
	if (!pkcs11_is_uri(uri))
		return ACME_EINVAL;
	if ((out = malloc(strlen(uri) + 1)) == NULL)
		return ACME_ENOMEM;
	o = sizeof(URI_SCHEME) - 1;
	memcpy(out, URI_SCHEME, o);
	/* RFC 7512: path attributes split by ';', query attributes by '&'.
	 * libp11 also takes pin-value among the path attributes. */
	path = uri + o;
	end = path + strlen(path);
	if ((query = strchr(path, '?')) == NULL)
		query = end;
	if ((rc = take_attrs(path, query, ';', '\0', out, &o, &found)) != ACME_OK ||
	    (query < end && (rc = take_attrs(query + 1, end, '&', '?', out, &o, &found)) != ACME_OK))
		goto out;
	out[o] = '\0';
	*without = out;
	*pin = found;
	out = NULL;
	found = NULL;
	rc = ACME_OK;
out:
	free(out);
	pkcs11_pin_free(found);
	return rc;
}

/* The PIN from the first line of path, which only its owner may read
 * (core/secret.c holds every secret file to the same rules). */
static enum acme_err
read_pin_file(const char *path, char *pin, size_t size)
{
	size_t len = 0;
	enum acme_err rc;

	if ((rc = acme_secret_read(path, "PKCS#11 PIN", pin, size, &len)) != ACME_OK)
		return rc;
	if (len > PKCS11_PIN_MAX) {
		log_err("pkcs11: the PIN in %s is longer than %d characters", path, PKCS11_PIN_MAX);
		OPENSSL_cleanse(pin, size);
		return ACME_ECONFIG;
	}
	return ACME_OK;
}

/* A provider (pkcs11-provider, loaded by openssl.cnf) handles the scheme. */
static int
provider_handles_scheme(void)
{
	OSSL_STORE_LOADER *l;

	ERR_set_mark();
	l = OSSL_STORE_LOADER_fetch(NULL, "pkcs11", NULL);
	ERR_pop_to_mark();
	if (l == NULL)
		return 0;
	OSSL_STORE_LOADER_free(l);
	return 1;
}

/* UI callback for the provider: the PIN given as user data. */
static int
pin_cb(char *buf, int size, int rwflag, void *u)
{
	size_t n = u != NULL ? strlen(u) : 0;

	(void)rwflag;
	if (n == 0 || n >= (size_t)size)
		return -1;
	memcpy(buf, u, n);
	return (int)n;
}

static enum acme_err
store_load(const char *uri, const char *shown, const char *pin, EVP_PKEY **out)
{
	OSSL_STORE_CTX *st = NULL;
	OSSL_STORE_INFO *info;
	UI_METHOD *ui = NULL;
	enum acme_err rc = ACME_ECONFIG;

	if (pin != NULL && (ui = UI_UTIL_wrap_read_pem_callback(pin_cb, 0)) == NULL) {
		rc = ACME_ENOMEM;
		goto out;
	}
	if ((st = OSSL_STORE_open(uri, ui != NULL ? ui : UI_null(), (void *)pin, NULL, NULL)) ==
	    NULL) {
		log_err("pkcs11: the provider cannot open %s", shown);
		goto out;
	}
	OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY);
	while (*out == NULL && !OSSL_STORE_eof(st)) {
		if ((info = OSSL_STORE_load(st)) == NULL) {
			if (OSSL_STORE_error(st))
				break;
			continue;
		}
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			*out = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	if (*out == NULL) {
		log_err("pkcs11: no private key at %s", shown);
		goto out;
	}
	rc = ACME_OK;
out:
	if (rc != ACME_OK)
		acme_log_ssl("pkcs11: OSSL_STORE");
	ERR_clear_error();
	OSSL_STORE_close(st);
	UI_destroy_method(ui);
	return rc;
}

/* This process's functional reference to the engine, set up for module. */
static enum acme_err
engine_get(const char *module, ENGINE **out)
{
	ENGINE *e = NULL;
	enum acme_err rc = ACME_ECONFIG;

	*out = NULL;
	if (p11_engine != NULL && p11_pid == getpid()) {
		if (strcmp(module, p11_module) != 0) {
			log_err("pkcs11: one module per process: %s is in use, not %s", p11_module,
			    module);
			return ACME_ECONFIG;
		}
		*out = p11_engine;
		return ACME_OK;
	}
	/* Nothing yet, or the parent's reference: take one for this process. */
	p11_engine = NULL;
	if (strlen(module) >= sizeof(p11_module)) {
		log_err("pkcs11: module path too long");
		return ACME_ECONFIG;
	}
	if ((e = ENGINE_by_id("pkcs11")) == NULL) {
		log_err("pkcs11: no OpenSSL engine \"pkcs11\" (install libengine-pkcs11-openssl) "
		    "and no provider for pkcs11: URIs");
		goto out;
	}
	if (!ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0)) {
		log_err("pkcs11: the engine refuses the module %s", module);
		goto out;
	}
	/* libp11 talks on stderr otherwise ("Using slot ..."); errors still
	 * reach the OpenSSL error queue, which is logged. Older engines lack it. */
	if (!ENGINE_ctrl_cmd_string(e, "QUIET", NULL, 1))
		ERR_clear_error();
	if (!ENGINE_init(e)) {
		log_err("pkcs11: cannot initialise the engine with the module %s", module);
		goto out;
	}
	/* ENGINE_init's functional reference holds a structural one of its own. */
	ENGINE_free(e);
	p11_engine = *out = e;
	e = NULL;
	p11_pid = getpid();
	strcpy(p11_module, module);
	rc = ACME_OK;
out:
	if (rc != ACME_OK)
		acme_log_ssl("pkcs11: engine");
	ENGINE_free(e);
	return rc;
}

static enum acme_err
engine_load(const char *uri, const char *shown, const char *module, const char *pin,
    EVP_PKEY **out)
{
	ENGINE *e;
	enum acme_err rc;

	if ((rc = engine_get(module, &e)) != ACME_OK)
		return rc;
	/* libp11 keeps a copy for logging in again after a fork. */
	if (pin != NULL && !ENGINE_ctrl_cmd_string(e, "PIN", pin, 0)) {
		log_err("pkcs11: the engine refuses the PIN for %s", shown);
		acme_log_ssl("pkcs11: engine");
		return ACME_ECONFIG;
	}
	/* UI_null(): a server never prompts; no PIN means no login. The engine
	 * API predates const; it does not write to the method. */
	if ((*out = ENGINE_load_private_key(e, uri, (UI_METHOD *)UI_null(), NULL)) == NULL) {
		log_err("pkcs11: no private key at %s with the module %s (wrong token, object "
		    "or PIN?)", shown, module);
		acme_log_ssl("pkcs11: ENGINE_load_private_key");
		return ACME_ECONFIG;
	}
	ERR_clear_error();
	return ACME_OK;
}

enum acme_err
pkcs11_load_key(const char *uri, const char *module, const char *pin_file, EVP_PKEY **out)
{
	char shown[REDACT_MAX], pin[PKCS11_PIN_MAX + 2], *bare = NULL, *uri_pin = NULL;
	const char *use_pin = NULL;
	enum acme_err rc;

	*out = NULL;
	pin[0] = '\0';
	pkcs11_uri_redact(uri, shown, sizeof(shown));
	if (module == NULL)
		module = pkcs11_default_module();
	if ((rc = pkcs11_uri_split_pin(uri, &bare, &uri_pin)) != ACME_OK) {
		if (rc == ACME_EINVAL)
			log_err("pkcs11: %s is not a pkcs11: URI with a usable pin-value", shown);
		rc = rc == ACME_EINVAL ? ACME_ECONFIG : rc;
		goto out;
	}
	if (uri_pin != NULL) {
		use_pin = uri_pin;
	} else if (pin_file != NULL) {
		if ((rc = read_pin_file(pin_file, pin, sizeof(pin))) != ACME_OK)
			goto out;
		use_pin = pin;
	}
	if (provider_handles_scheme())
		rc = store_load(bare, shown, use_pin, out);
	else
		rc = engine_load(bare, shown, module, use_pin, out);
	if (rc == ACME_OK)
		log_info("pkcs11: CA key %s loaded", shown);
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	pkcs11_pin_free(uri_pin);
	free(bare);
	return rc;
}
