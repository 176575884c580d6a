// Loads a model through the installed library and zeroes a neuron: proof that
// find_package(synapse) gives a working target without LibTorch in the consumer.
#include <synapse/synapse.h>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto model = synapse::Model::Load(argv[1]);
  auto batch = std::vector<synapse::Example>{synapse::Example::Tokens({2, 11, 12})};
  auto base = model.Run(batch);
  auto hit = model.Run(batch, {synapse::ParseIntervention("-1:zero:all")});
  std::cout << model.layers().size() << " layers, " << model.num_classes()
            << " classes, changed=" << ((base.logits - hit.logits).cwiseAbs().maxCoeff() > 0) << "\n";
  return 0;
}
