# REINFORCE in the shape of the classic policy-gradient example, on a tiny
# corridor world written in plain Python (no gym): a Policy module with a
# softmax head, torch.distributions.Categorical for sampling actions and
# log_prob, saved log-probs and rewards per episode, discounted returns
# normalised with an eps from np.finfo, the policy loss as a sum of
# -log_prob * return built with torch.cat, and an Adam step. Sampling makes
# the runs differ between frameworks, so the check is qualitative: the
# average episode length drops towards the optimum. The deterministic part
# (log_prob, entropy, and probabilities of a fixed Categorical / Normal) is
# compared with PyTorch exactly.
# compat: exact cat_log_prob 1e-5 1e-6
# compat: exact cat_entropy 1e-5 1e-6
# compat: exact cat_probs 1e-5 1e-6
# compat: exact normal_log_prob 1e-5 1e-6
# compat: exact normal_entropy 1e-5 1e-6
# compat: exact sample_shape
# compat: expect learned == True
# compat: expect samples_in_support == True
# compat: timeout 120
import numpy as np

import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F
import neuronet.optim as optim
from neuronet.distributions import Categorical, Normal

# --- fixed distributions compared with PyTorch
logits = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.3, -0.3]])
dist = Categorical(logits=logits)
print("RESULT cat_log_prob", ",".join(str(v) for v in dist.log_prob(torch.tensor([2, 0])).tolist()))
print("RESULT cat_entropy", ",".join(str(v) for v in dist.entropy().tolist()))
print("RESULT cat_probs", ",".join(str(v) for v in Categorical(probs=torch.tensor([0.2, 0.3, 0.5])).probs.tolist()))
samples = Categorical(probs=torch.tensor([0.0, 0.4, 0.6])).sample((200,))
print("RESULT sample_shape", ",".join(map(str, samples.shape)))
print("RESULT samples_in_support", bool(((samples == 1) | (samples == 2)).all()))
normal = Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.5]))
print("RESULT normal_log_prob", ",".join(str(v) for v in normal.log_prob(torch.tensor([0.3, 0.2])).tolist()))
print("RESULT normal_entropy", ",".join(str(v) for v in normal.entropy().tolist()))


class Corridor:
    """Start in cell 0 of a corridor of length 6; reach the end. Action 1 moves right,
    action 0 moves left (not below 0). Reward -1 per step; episodes cut at 30 steps."""

    def __init__(self, length=6):
        self.length = length

    def reset(self):
        self.pos = 0
        return self._obs()

    def _obs(self):
        obs = np.zeros(self.length, dtype=np.float32)
        obs[self.pos] = 1.0
        return obs

    def step(self, action):
        self.pos = min(self.length - 1, max(0, self.pos + (1 if action == 1 else -1)))
        done = self.pos == self.length - 1
        return self._obs(), -1.0, done


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(6, 32)
        self.affine2 = nn.Linear(32, 2)
        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


torch.manual_seed(543)
policy = Policy()
optimizer = optim.Adam(policy.parameters(), lr=2e-2)
eps = np.finfo(np.float32).eps.item()
gamma = 0.99
env = Corridor()


def select_action(state):
    state = torch.from_numpy(state).float().unsqueeze(0)
    probs = policy(state)
    m = Categorical(probs)
    action = m.sample()
    policy.saved_log_probs.append(m.log_prob(action))
    return action.item()


def finish_episode():
    R = 0
    policy_loss = []
    returns = []
    for r in policy.rewards[::-1]:
        R = r + gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for log_prob, R in zip(policy.saved_log_probs, returns):
        policy_loss.append(-log_prob * R)
    optimizer.zero_grad()
    policy_loss = torch.cat(policy_loss).sum()
    policy_loss.backward()
    optimizer.step()
    del policy.rewards[:]
    del policy.saved_log_probs[:]


lengths = []
for i_episode in range(60):
    state, ep_reward = env.reset(), 0
    for t in range(1, 31):
        action = select_action(state)
        state, reward, done = env.step(action)
        policy.rewards.append(reward)
        ep_reward += reward
        if done:
            break
    lengths.append(t)
    finish_episode()
    if i_episode % 20 == 0:
        print(f"Episode {i_episode}\tLength: {t}")

first, last = sum(lengths[:10]) / 10, sum(lengths[-10:]) / 10
print(f"average length {first:.1f} -> {last:.1f} (optimum 5)")
print("RESULT learned", last < 0.6 * first or last <= 7)
