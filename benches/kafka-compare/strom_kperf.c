/*
 * strom_kperf: a small librdkafka perf client used by run.sh to drive Strom and Apache Kafka with
 * the same client and the same settings.
 *
 *   strom_kperf produce -t TOPIC -b BOOTSTRAP [-s SIZE] [-c COUNT | -d SECONDS] [-a ACKS]
 *                       [-r RATE] [-X key=value ...]
 *   strom_kperf consume -t TOPIC -b BOOTSTRAP [-X key=value ...]
 *   strom_kperf create  -t TOPIC -b BOOTSTRAP [-p PARTITIONS] [-X key=value ...]
 *   strom_kperf delete  -t TOPIC -b BOOTSTRAP [-X key=value ...]
 *
 * produce: sends SIZE-byte records (no key) to partition 0, COUNT of them or for SECONDS, at RATE
 *   records/s (0 = as fast as the client's queue allows). Each record's latency is the time from
 *   rd_kafka_produce() to its delivery report (the send time travels in the message opaque; a
 *   separate thread serves delivery reports so the rate loop does not delay them).
 * consume: assigns partition 0 from the beginning and reads until the high watermark queried at
 *   start (or partition EOF). Throughput is measured from the first record to the last.
 * create/delete: CreateTopics/DeleteTopics through the Admin API (brokers with those APIs only).
 *
 * Prints one JSON object on stdout: records, bytes, seconds, records_per_s, mb_per_s (MB = 10^6
 * bytes), client_cpu_s (this process's CPU time, librdkafka's threads included) and, for produce,
 * p50_ms, p99_ms, p999_ms, max_ms and errors. Exits 1 on any error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rdkafka.h"

#define MAX_PASSTHROUGH 64

struct options {
	const char *mode;
	const char *topic;
	const char *bootstrap;
	size_t size;
	int64_t count;     /* records to produce; -1 when a duration is given */
	double seconds;    /* duration of the produce run; 0 when a count is given */
	const char *acks;
	double rate;       /* records per second, 0 = unlimited */
	int partitions;
	int npass;
	char *pass_key[MAX_PASSTHROUGH];
	char *pass_value[MAX_PASSTHROUGH];
};

/* State touched only by the delivery-report thread until it is joined. */
struct delivery {
	uint32_t *latency_us;
	size_t nlatency;
	size_t cap;
	int64_t delivered;
	int64_t bytes;
	int64_t errors;
	int64_t last_ns;
	rd_kafka_resp_err_t first_error;
};

static volatile int stop_poller;

static void die(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fputs("strom_kperf: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until_ns(int64_t deadline) {
	struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}

static void usage(void) {
	fputs("usage: strom_kperf produce|consume|create|delete -t TOPIC -b BOOTSTRAP [-s SIZE]\n"
	      "       [-c COUNT | -d SECONDS] [-a ACKS] [-r RATE] [-p PARTITIONS] [-X key=value]...\n",
	      stderr);
	exit(2);
}

static double parse_number(const char *flag, const char *text) {
	char *end = NULL;
	errno = 0;
	double value = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || value < 0)
		die("%s wants a non-negative number, not '%s'", flag, text);
	return value;
}

static void parse_args(int argc, char **argv, struct options *o) {
	memset(o, 0, sizeof(*o));
	o->size = 1024;
	o->count = -1;
	o->acks = "1";
	o->partitions = 1;
	if (argc < 2)
		usage();
	o->mode = argv[1];
	int opt;
	optind = 2;
	while ((opt = getopt(argc, argv, "t:b:s:c:d:a:r:p:X:")) != -1) {
		switch (opt) {
		case 't': o->topic = optarg; break;
		case 'b': o->bootstrap = optarg; break;
		case 's': o->size = (size_t)parse_number("-s", optarg); break;
		case 'c': o->count = (int64_t)parse_number("-c", optarg); break;
		case 'd': o->seconds = parse_number("-d", optarg); break;
		case 'a': o->acks = optarg; break;
		case 'r': o->rate = parse_number("-r", optarg); break;
		case 'p': o->partitions = (int)parse_number("-p", optarg); break;
		case 'X': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL)
				die("-X wants key=value, not '%s'", optarg);
			if (o->npass == MAX_PASSTHROUGH)
				die("too many -X options");
			*eq = '\0';
			o->pass_key[o->npass] = optarg;
			o->pass_value[o->npass] = eq + 1;
			o->npass++;
			break;
		}
		default: usage();
		}
	}
	if (optind != argc || o->topic == NULL || o->bootstrap == NULL)
		usage();
	if (strcmp(o->mode, "produce") == 0) {
		if ((o->count < 0) == (o->seconds <= 0))
			die("produce wants exactly one of -c COUNT and -d SECONDS");
		if (o->size == 0)
			die("-s must be at least 1");
	}
	if (o->partitions < 1)
		die("-p must be at least 1");
}

static void set_conf(rd_kafka_conf_t *conf, const char *key, const char *value) {
	char err[512];
	if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		die("config %s=%s: %s", key, value, err);
}

static rd_kafka_conf_t *base_conf(const struct options *o) {
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	set_conf(conf, "bootstrap.servers", o->bootstrap);
	set_conf(conf, "client.id", "strom_kperf");
	return conf;
}

/* The -X options go last so they override whatever this program sets. */
static void apply_passthrough(rd_kafka_conf_t *conf, const struct options *o) {
	for (int i = 0; i < o->npass; i++)
		set_conf(conf, o->pass_key[i], o->pass_value[i]);
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
	char err[512];
	rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (rk == NULL)
		die("rd_kafka_new: %s", err);
	return rk;
}

/* Waits until the topic's partition 0 has a leader, so that connection setup is not timed. */
static void wait_for_topic(rd_kafka_t *rk, const char *topic) {
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	if (rkt == NULL)
		die("rd_kafka_topic_new: %s", rd_kafka_err2str(rd_kafka_last_error()));
	int64_t deadline = now_ns() + 30LL * 1000000000;
	for (;;) {
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
		int ready = 0;
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
		    md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0 &&
		    md->topics[0].partitions[0].leader >= 0)
			ready = 1;
		if (md != NULL)
			rd_kafka_metadata_destroy(md);
		if (ready)
			break;
		if (now_ns() > deadline)
			die("topic %s has no leader for partition 0 after 30 s (%s)", topic,
			    rd_kafka_err2str(err));
		usleep(100 * 1000);
	}
	rd_kafka_topic_destroy(rkt);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
	(void)rk;
	struct delivery *d = opaque;
	int64_t now = now_ns();
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (d->errors == 0)
			d->first_error = m->err;
		d->errors++;
		return;
	}
	int64_t sent = (int64_t)(intptr_t)m->_private;
	int64_t us = (now - sent) / 1000;
	if (us < 0)
		us = 0;
	if (us > UINT32_MAX)
		us = UINT32_MAX;
	if (d->nlatency == d->cap) {
		size_t cap = d->cap == 0 ? 1 << 20 : d->cap * 2;
		uint32_t *grown = realloc(d->latency_us, cap * sizeof(uint32_t));
		if (grown == NULL)
			die("out of memory for %zu latencies", cap);
		d->latency_us = grown;
		d->cap = cap;
	}
	d->latency_us[d->nlatency++] = (uint32_t)us;
	d->delivered++;
	d->bytes += (int64_t)m->len;
	d->last_ns = now;
}

static void *poller(void *arg) {
	rd_kafka_t *rk = arg;
	while (!stop_poller)
		rd_kafka_poll(rk, 50);
	rd_kafka_poll(rk, 0);
	return NULL;
}

static int cmp_u32(const void *a, const void *b) {
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array, in milliseconds. */
static double percentile_ms(const uint32_t *sorted, size_t n, double q) {
	if (n == 0)
		return 0;
	size_t rank = (size_t)(q * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1] / 1000.0;
}

/* User plus system CPU seconds of this process so far, librdkafka's threads included. */
static double cpu_seconds(void) {
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void print_throughput(const char *mode, int64_t records, int64_t bytes, double seconds) {
	double rps = seconds > 0 ? records / seconds : 0;
	double mbps = seconds > 0 ? bytes / seconds / 1e6 : 0;
	printf("{\"mode\":\"%s\",\"records\":%" PRId64 ",\"bytes\":%" PRId64
	       ",\"seconds\":%.3f,\"records_per_s\":%.1f,\"mb_per_s\":%.2f,\"client_cpu_s\":%.2f",
	       mode, records, bytes, seconds, rps, mbps, cpu_seconds());
}

static int run_produce(const struct options *o) {
	static struct delivery d;
	rd_kafka_conf_t *conf = base_conf(o);
	set_conf(conf, "acks", o->acks);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_opaque(conf, &d);
	apply_passthrough(conf, o);
	rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
	wait_for_topic(rk, o->topic);
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
	if (rkt == NULL)
		die("rd_kafka_topic_new: %s", rd_kafka_err2str(rd_kafka_last_error()));

	/* One constant payload, never copied: librdkafka only reads it (no F_COPY, no F_FREE). */
	char *payload = malloc(o->size);
	if (payload == NULL)
		die("out of memory for the payload");
	for (size_t i = 0; i < o->size; i++)
		payload[i] = (char)('a' + i % 26);

	pthread_t thread;
	if (pthread_create(&thread, NULL, poller, rk) != 0)
		die("cannot start the delivery-report thread");

	int64_t start = now_ns();
	int64_t end = o->seconds > 0 ? start + (int64_t)(o->seconds * 1e9) : INT64_MAX;
	double interval_ns = o->rate > 0 ? 1e9 / o->rate : 0;
	int64_t sent = 0;
	for (;;) {
		if (o->count >= 0 && sent >= o->count)
			break;
		if (o->rate > 0) {
			int64_t due = start + (int64_t)(sent * interval_ns);
			if (due >= end)
				break;
			if (due > now_ns())
				sleep_until_ns(due);
		} else if ((sent & 63) == 0 && now_ns() >= end) {
			break;
		}
		int64_t t = now_ns();
		if (rd_kafka_produce(rkt, 0, 0, payload, o->size, NULL, 0, (void *)(intptr_t)t) == -1) {
			rd_kafka_resp_err_t err = rd_kafka_last_error();
			if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
				usleep(200);
				continue;
			}
			die("produce: %s", rd_kafka_err2str(err));
		}
		sent++;
	}
	/* Every record is done once nothing is queued, in flight, or awaiting its delivery report. */
	while (rd_kafka_outq_len(rk) > 0)
		usleep(500);
	stop_poller = 1;
	pthread_join(thread, NULL);

	double seconds = d.last_ns > start ? (d.last_ns - start) / 1e9 : 0;
	qsort(d.latency_us, d.nlatency, sizeof(uint32_t), cmp_u32);
	print_throughput("produce", d.delivered, d.bytes, seconds);
	printf(",\"sent\":%" PRId64 ",\"errors\":%" PRId64
	       ",\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
	       sent, d.errors, percentile_ms(d.latency_us, d.nlatency, 0.50),
	       percentile_ms(d.latency_us, d.nlatency, 0.99),
	       percentile_ms(d.latency_us, d.nlatency, 0.999),
	       percentile_ms(d.latency_us, d.nlatency, 1.0));
	if (d.errors > 0)
		fprintf(stderr, "strom_kperf: %" PRId64 " records failed, first: %s\n", d.errors,
		        rd_kafka_err2str(d.first_error));
	free(d.latency_us);
	free(payload);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	return d.errors > 0 ? 1 : 0;
}

static int run_consume(const struct options *o) {
	rd_kafka_conf_t *conf = base_conf(o);
	set_conf(conf, "group.id", "strom_kperf");
	set_conf(conf, "enable.auto.commit", "false");
	set_conf(conf, "enable.partition.eof", "true");
	apply_passthrough(conf, o);
	rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, conf);
	wait_for_topic(rk, o->topic);
	int64_t low = 0, high = 0;
	rd_kafka_resp_err_t err =
	    rd_kafka_query_watermark_offsets(rk, o->topic, 0, &low, &high, 10000);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("watermarks of %s: %s", o->topic, rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, o->topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	err = rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("assign: %s", rd_kafka_err2str(err));

	int64_t records = 0, bytes = 0, first_ns = 0, last_ns = 0;
	int64_t idle_deadline = now_ns() + 30LL * 1000000000;
	int failed = 0;
	while (low < high) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
		if (m == NULL) {
			if (now_ns() > idle_deadline) {
				fprintf(stderr, "strom_kperf: nothing received for 30 s\n");
				failed = 1;
				break;
			}
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			break;
		}
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "strom_kperf: consume: %s\n", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			failed = 1;
			break;
		}
		last_ns = now_ns();
		if (records == 0)
			first_ns = last_ns;
		idle_deadline = last_ns + 30LL * 1000000000;
		records++;
		bytes += (int64_t)m->len + (int64_t)m->key_len;
		int64_t offset = m->offset;
		rd_kafka_message_destroy(m);
		if (offset + 1 >= high)
			break;
	}
	print_throughput("consume", records, bytes, (last_ns - first_ns) / 1e9);
	printf(",\"low\":%" PRId64 ",\"high\":%" PRId64 "}\n", low, high);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return failed;
}

static int run_admin(const struct options *o, int create) {
	rd_kafka_conf_t *conf = base_conf(o);
	apply_passthrough(conf, o);
	rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
	rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
	char err[512];
	if (create) {
		rd_kafka_NewTopic_t *topic =
		    rd_kafka_NewTopic_new(o->topic, o->partitions, 1, err, sizeof(err));
		if (topic == NULL)
			die("NewTopic: %s", err);
		rd_kafka_CreateTopics(rk, &topic, 1, NULL, queue);
		rd_kafka_NewTopic_destroy(topic);
	} else {
		rd_kafka_DeleteTopic_t *topic = rd_kafka_DeleteTopic_new(o->topic);
		rd_kafka_DeleteTopics(rk, &topic, 1, NULL, queue);
		rd_kafka_DeleteTopic_destroy(topic);
	}
	rd_kafka_event_t *ev = rd_kafka_queue_poll(queue, 30000);
	if (ev == NULL)
		die("no admin result after 30 s");
	if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("admin request: %s", rd_kafka_event_error_string(ev));
	const rd_kafka_topic_result_t **results;
	size_t n = 0;
	if (create)
		results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
	else
		results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (rd_kafka_topic_result_error(results[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "strom_kperf: %s %s: %s\n", create ? "create" : "delete",
			        rd_kafka_topic_result_name(results[i]),
			        rd_kafka_topic_result_error_string(results[i]));
			failed = 1;
		}
	}
	rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(queue);
	if (!failed && create)
		wait_for_topic(rk, o->topic);
	rd_kafka_destroy(rk);
	if (!failed)
		printf("{\"mode\":\"%s\",\"topic\":\"%s\",\"partitions\":%d}\n",
		       create ? "create" : "delete", o->topic, o->partitions);
	return failed;
}

int main(int argc, char **argv) {
	struct options o;
	parse_args(argc, argv, &o);
	if (strcmp(o.mode, "produce") == 0)
		return run_produce(&o);
	if (strcmp(o.mode, "consume") == 0)
		return run_consume(&o);
	if (strcmp(o.mode, "create") == 0)
		return run_admin(&o, 1);
	if (strcmp(o.mode, "delete") == 0)
		return run_admin(&o, 0);
	usage();
	return 2;
}
