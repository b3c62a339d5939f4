// KafkaProducer over librdkafka: delivery reports counted, the first failure kept.
#include "host/kafka/kafka_producer.hpp"

#include <atomic>
#include <mutex>
#include <string>

#include "sluice/status.hpp"

#if SLUICE_HAVE_RDKAFKA
#include "host/kafka/rdkafka_handle.hpp"
#endif

namespace sluice::kafka {

#if SLUICE_HAVE_RDKAFKA

struct KafkaProducer::Impl {
  Endpoint endpoint;
  rdk::Handle client;
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> delivered{0};
  std::mutex failure_mutex;
  std::string failure;  ///< the first delivery that failed; empty while none did

  void record_failure(std::string what) {
    std::lock_guard lock(failure_mutex);
    if (failure.empty()) failure = std::move(what);
  }
  void throw_if_failed() {
    std::lock_guard lock(failure_mutex);
    if (!failure.empty())
      throw Error(ErrorCode::io_error,
                  "Kafka sink " + endpoint.brokers + "/" + endpoint.topic + ": " + failure);
  }
};

KafkaProducer::KafkaProducer(const Endpoint& to, const ClientOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->endpoint = to;
  // Every in-sync replica acknowledges, and retries never duplicate: what a sink committed
  // before the source commits its offsets is there.
  rdk::Config conf =
      rdk::make_config(to.brokers, {{"enable.idempotence", "true"}, {"linger.ms", "5"}}, options);
  rd_kafka_conf_set_dr_msg_cb(
      conf.get(), [](rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
        auto* impl = static_cast<Impl*>(opaque);
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          impl->delivered.fetch_add(1, std::memory_order_relaxed);
        } else {
          impl->record_failure(std::string("a message was not delivered: ") +
                               rd_kafka_err2str(message->err));
        }
      });
  rd_kafka_conf_set_opaque(conf.get(), impl_.get());
  impl_->client = rdk::make_client(RD_KAFKA_PRODUCER, std::move(conf));
}

KafkaProducer::~KafkaProducer() {
  if (impl_ && impl_->client) rd_kafka_flush(impl_->client.get(), 10000);
}

void KafkaProducer::send(std::string_view key, std::string_view value) {
  impl_->throw_if_failed();
  rd_kafka_t* rk = impl_->client.get();
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(impl_->endpoint.topic.c_str()),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      throw Error(ErrorCode::io_error, "Kafka sink " + impl_->endpoint.brokers + "/" +
                                           impl_->endpoint.topic + ": " + rd_kafka_err2str(err));
    // The local queue is full: serve delivery reports until there is room.
    rd_kafka_poll(rk, 100);
    impl_->throw_if_failed();
  }
  impl_->sent.fetch_add(1, std::memory_order_relaxed);
  rd_kafka_poll(rk, 0);
}

void KafkaProducer::flush(std::chrono::milliseconds timeout) {
  const rd_kafka_resp_err_t err =
      rd_kafka_flush(impl_->client.get(), static_cast<int>(timeout.count()));
  impl_->throw_if_failed();
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw Error(ErrorCode::io_error,
                "Kafka sink " + impl_->endpoint.brokers + "/" + impl_->endpoint.topic + ": " +
                    std::to_string(rd_kafka_outq_len(impl_->client.get())) +
                    " messages not acknowledged within " + std::to_string(timeout.count()) +
                    " ms (" + rd_kafka_err2str(err) + ")");
}

std::uint64_t KafkaProducer::sent() const noexcept {
  return impl_->sent.load(std::memory_order_relaxed);
}
std::uint64_t KafkaProducer::delivered() const noexcept {
  return impl_->delivered.load(std::memory_order_relaxed);
}
const Endpoint& KafkaProducer::endpoint() const noexcept { return impl_->endpoint; }

#else  // no librdkafka

struct KafkaProducer::Impl {
  Endpoint endpoint;
};

KafkaProducer::KafkaProducer(const Endpoint&, const ClientOptions&) {
  throw Error(ErrorCode::invalid_argument,
              "this build has no Kafka client (librdkafka, Debian's librdkafka-dev, was not "
              "found when it was configured)");
}
KafkaProducer::~KafkaProducer() = default;
void KafkaProducer::send(std::string_view, std::string_view) {}
void KafkaProducer::flush(std::chrono::milliseconds) {}
std::uint64_t KafkaProducer::sent() const noexcept { return 0; }
std::uint64_t KafkaProducer::delivered() const noexcept { return 0; }
const Endpoint& KafkaProducer::endpoint() const noexcept { return impl_->endpoint; }

#endif

}  // namespace sluice::kafka
