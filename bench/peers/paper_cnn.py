"""The paper CNN of METHOD.md in PyTorch, shared by the bench peers (state_dict names features.* / classifier.*, like igradv's ig_model_paper_cnn)."""
import torch
import torch.nn as nn


def paper_cnn(classes=10, inplace=True):
    """METHOD.md's network; inplace=False gives out-of-place ReLUs (what ops_peer has always timed)."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=inplace),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(inplace=inplace), nn.MaxPool2d(2, 2),
                nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(inplace=inplace),
                nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(inplace=inplace), nn.MaxPool2d(2, 2),
                nn.Dropout2d(p=0.05),
                nn.Conv2d(128, 256, 3, padding=1), nn.BatchNorm2d(256), nn.ReLU(inplace=inplace),
                nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=inplace), nn.MaxPool2d(2, 2))
            self.classifier = nn.Sequential(
                nn.Dropout(p=0.1), nn.Linear(4096, 1024), nn.ReLU(inplace=inplace),
                nn.Linear(1024, 512), nn.ReLU(inplace=inplace), nn.Dropout(p=0.1), nn.Linear(512, classes))

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))

    return Net()
