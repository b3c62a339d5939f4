// What the librdkafka clients share: owning handles and a configuration built from options.
// Included only where librdkafka is (SLUICE_HAVE_RDKAFKA).
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

#include "host/kafka/kafka_client.hpp"

namespace sluice::kafka::rdk {

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct ConfigDeleter {
  void operator()(rd_kafka_conf_t* conf) const noexcept { rd_kafka_conf_destroy(conf); }
};
using Config = std::unique_ptr<rd_kafka_conf_t, ConfigDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const noexcept {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

/// @brief Sets one property. @throws Error(invalid_argument) naming it and librdkafka's reason.
void set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value);

/// @brief A configuration with `bootstrap.servers` from `brokers`, then `defaults` (the
/// client's own choices), then `options` (the user's) applied.
Config make_config(const std::string& brokers, const ClientOptions& defaults,
                   const ClientOptions& options);

/// @brief Makes the client (the configuration is the client's from then on).
/// @throws Error(io_error) with librdkafka's reason.
Handle make_client(rd_kafka_type_t type, Config config);

}  // namespace sluice::kafka::rdk
