// Per-neuron mean and spread over an evaluation set, for mean ablation and noise relative
// to each neuron's spread.
//
//   synapse::NeuronStats s = synapse::ComputeNeuronStats(extraction.activations.at(3));
#ifndef SYNAPSE_NEURON_STATS_H_
#define SYNAPSE_NEURON_STATS_H_

#include <Eigen/Core>
#include <vector>

namespace synapse {

/// Per-neuron mean and standard deviation (population) over the rows of x, for mean
/// ablation and relative noise.
struct NeuronStats {
  std::vector<float> mean;
  std::vector<float> stddev;
};
NeuronStats ComputeNeuronStats(const Eigen::MatrixXf& x);

}  // namespace synapse

#endif  // SYNAPSE_NEURON_STATS_H_
