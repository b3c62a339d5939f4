// librdkafka configuration and client construction, with errors as sluice::Error.
#if SLUICE_HAVE_RDKAFKA
#include "host/kafka/rdkafka_handle.hpp"

#include "sluice/status.hpp"

namespace sluice::kafka::rdk {

void set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char reason[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), reason, sizeof reason) !=
      RD_KAFKA_CONF_OK)
    throw Error(ErrorCode::invalid_argument, "Kafka property " + key + ": " + reason);
}

Config make_config(const std::string& brokers, const ClientOptions& defaults,
                   const ClientOptions& options) {
  Config conf(rd_kafka_conf_new());
  set_property(conf.get(), "bootstrap.servers", brokers);
  set_property(conf.get(), "client.id", "sluice");
  for (const auto& [key, value] : defaults) set_property(conf.get(), key, value);
  for (const auto& [key, value] : options) set_property(conf.get(), key, value);
  return conf;
}

Handle make_client(rd_kafka_type_t type, Config config) {
  char reason[512];
  rd_kafka_t* rk = rd_kafka_new(type, config.get(), reason, sizeof reason);
  if (rk == nullptr)
    throw Error(ErrorCode::io_error, std::string("cannot make a Kafka client: ") + reason);
  config.release();  // the client owns it now
  return Handle(rk);
}

}  // namespace sluice::kafka::rdk
#endif
