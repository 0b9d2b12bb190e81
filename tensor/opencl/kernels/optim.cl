/* Fused optimizer steps (torch.optim.Adam and torch.optim.SGD semantics), one work-item per parameter. */

/* g = grad + wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (m/bc1) / (sqrt(v/bc2) + eps),
 * bc1 = 1 - b1^t, bc2 = 1 - b2^t computed on the host. */
__kernel void adam_step(__global float *p, int po, __global const float *grad, int go, __global float *m, int mo,
                        __global float *v, int vo, float lr, float b1, float b2, float eps, float wd,
                        float bc1, float bc2, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    float pi = p[po + i];
    float g = grad[go + i] + wd * pi;
    float mi = b1 * m[mo + i] + (1.0f - b1) * g;
    float vi = b2 * v[vo + i] + (1.0f - b2) * g * g;
    m[mo + i] = mi;
    v[vo + i] = vi;
    p[po + i] = pi - lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
}

/* g = grad + wd p; if momentum: buf = first ? g : mom buf + (1-damp) g; g = nesterov ? g + mom buf : buf;
 * p -= lr g. has_buf = 0 when momentum is 0 (buf is then a dummy). */
__kernel void sgd_step(__global float *p, int po, __global const float *grad, int go, __global float *buf, int bo,
                       float lr, float mom, float damp, float wd, int nesterov, int first, int has_buf, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    float pi = p[po + i];
    float g = grad[go + i] + wd * pi;
    if (has_buf) {
        float b = first ? g : mom * buf[bo + i] + (1.0f - damp) * g;
        buf[bo + i] = b;
        g = nesterov ? g + mom * b : b;
    }
    p[po + i] = pi - lr * g;
}
