// kafka_tool: the Kafka side of the connector tests, over librdkafka. A mock cluster on loopback
// (librdkafka's own, no broker to install), and a producer, a consumer and a committed-offset
// reader that the tests drive.
//
//   kafka_tool cluster BROKERS TOPIC:PARTITIONS...   prints "bootstrap=HOST:PORT,..." and
//                                                    serves until stdin closes
//   kafka_tool produce BOOTSTRAP TOPIC FILE          FILE: records "PARTITION TIMESTAMP_MS
//                                                    LENGTH\n" then LENGTH bytes of value
//                                                    (LENGTH -1: a message without a value)
//   kafka_tool consume BOOTSTRAP TOPIC COUNT SECONDS prints "PARTITION\tKEY\tVALUE" lines for
//                                                    COUNT messages (fails after SECONDS), and
//                                                    on stderr how long they took from the first
//   kafka_tool committed BOOTSTRAP GROUP TOPIC N     prints "PARTITION OFFSET" for partitions
//                                                    0..N-1 (-1001: nothing committed)
//   kafka_tool ends BOOTSTRAP TOPIC N                prints "PARTITION END_OFFSET"
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::cerr << "kafka_tool: " << what << std::endl;
  std::exit(1);
}

rd_kafka_t* client(rd_kafka_type_t type,
                   const std::vector<std::pair<std::string, std::string>>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char reason[512];
  for (const auto& [k, v] : props)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), reason, sizeof reason) != RD_KAFKA_CONF_OK)
      die(k + ": " + reason);
  rd_kafka_t* rk = rd_kafka_new(type, conf, reason, sizeof reason);
  if (rk == nullptr) die(reason);
  return rk;
}

int cluster(int argc, char** argv) {
  if (argc < 4) die("cluster BROKERS TOPIC:PARTITIONS...");
  rd_kafka_t* rk = client(RD_KAFKA_PRODUCER, {});
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, std::atoi(argv[2]));
  if (mc == nullptr) die("cannot start a mock cluster");
  for (int i = 3; i < argc; ++i) {
    const std::string spec = argv[i];
    const std::size_t colon = spec.find(':');
    if (colon == std::string::npos) die("TOPIC:PARTITIONS expected, got " + spec);
    if (rd_kafka_mock_topic_create(mc, spec.substr(0, colon).c_str(),
                                   std::atoi(spec.c_str() + colon + 1), 1))
      die("cannot create topic " + spec);
  }
  std::cout << "bootstrap=" << rd_kafka_mock_cluster_bootstraps(mc) << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}

int produce(int argc, char** argv) {
  if (argc != 5) die("produce BOOTSTRAP TOPIC FILE");
  rd_kafka_t* rk = client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", argv[2]}, {"linger.ms", "5"}});
  std::ifstream in(argv[4], std::ios::binary);
  if (!in) die(std::string("cannot open ") + argv[4]);
  std::size_t sent = 0;
  for (std::string header; std::getline(in, header);) {
    int partition = 0;
    long long ts = 0;
    long long length = 0;
    if (std::sscanf(header.c_str(), "%d %lld %lld", &partition, &ts, &length) != 3)
      die("bad record header: " + header);
    std::string value(static_cast<std::size_t>(std::max(length, 0LL)), '\0');
    in.read(value.data(), static_cast<std::streamsize>(value.size()));
    for (;;) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(argv[3]), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_VALUE((length < 0 ? nullptr : value.data()), value.size()),
          RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) die(rd_kafka_err2str(err));
      rd_kafka_poll(rk, 100);
    }
    ++sent;
    rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("flush timed out");
  std::cerr << "kafka_tool: produced " << sent << " messages" << std::endl;
  rd_kafka_destroy(rk);
  return 0;
}

int consume(int argc, char** argv) {
  if (argc != 6) die("consume BOOTSTRAP TOPIC COUNT SECONDS");
  const std::string group =
      "kafka-tool-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  rd_kafka_t* rk = client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", argv[2]},
                                              {"group.id", group},
                                              {"auto.offset.reset", "earliest"},
                                              {"enable.auto.commit", "false"}});
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, argv[3], RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  const long want = std::atol(argv[4]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[5]));
  long got = 0;
  std::size_t bytes = 0;
  std::chrono::steady_clock::time_point first;
  while (got < want) {
    if (std::chrono::steady_clock::now() > deadline)
      die("only " + std::to_string(got) + " of " + std::to_string(want) + " messages came");
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (got == 0) first = std::chrono::steady_clock::now();
      bytes += m->len;
      std::cout << m->partition << '\t' << std::string(static_cast<const char*>(m->key), m->key_len)
                << '\t' << std::string(static_cast<const char*>(m->payload), m->len) << '\n';
      ++got;
    }
    rd_kafka_message_destroy(m);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count();
  std::cerr << "kafka_tool: consumed " << got << " messages (" << bytes << " bytes) in "
            << seconds << " s from the first" << std::endl;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}

int committed(int argc, char** argv) {
  if (argc != 6) die("committed BOOTSTRAP GROUP TOPIC N");
  rd_kafka_t* rk =
      client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", argv[2]}, {"group.id", argv[3]}});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  for (int p = 0; p < std::atoi(argv[5]); ++p) rd_kafka_topic_partition_list_add(list, argv[4], p);
  if (const rd_kafka_resp_err_t err = rd_kafka_committed(rk, list, 30000))
    die(rd_kafka_err2str(err));
  for (int i = 0; i < list->cnt; ++i)
    std::cout << list->elems[i].partition << ' ' << list->elems[i].offset << '\n';
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
  return 0;
}

int ends(int argc, char** argv) {
  if (argc != 5) die("ends BOOTSTRAP TOPIC N");
  rd_kafka_t* rk =
      client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", argv[2]}, {"group.id", "kafka-tool-ends"}});
  for (int p = 0; p < std::atoi(argv[4]); ++p) {
    int64_t low = 0;
    int64_t high = 0;
    if (const rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, argv[3], p, &low, &high, 30000))
      die(rd_kafka_err2str(err));
    std::cout << p << ' ' << high << '\n';
  }
  rd_kafka_destroy(rk);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("cluster | produce | consume | committed | ends");
  const std::string what = argv[1];
  if (what == "cluster") return cluster(argc, argv);
  if (what == "produce") return produce(argc, argv);
  if (what == "consume") return consume(argc, argv);
  if (what == "committed") return committed(argc, argv);
  if (what == "ends") return ends(argc, argv);
  die("unknown command " + what);
}
